import CLibPQ
import Foundation
import Synchronization

/// One libpq connection. libpq blocks, so every call runs on the owning pool's threads, never on
/// Swift's cooperative pool; the `Pool` lends a connection to one task at a time.
public final class Connection: @unchecked Sendable {
    // Mutable state below is touched only by the single task holding the lease (checked by `busy`).
    private let handle: OpaquePointer
    private let threads: DatabaseThreads
    /// libpq's handle for cancelling the running statement from another thread (`PQcancel`).
    private let cancelHandle: OpaquePointer?
    private var statementNames: [String: String] = [:]
    /// Statements that travel with the next one (Connection+Prologue.swift).
    var prologue: [SQL] = []
    /// Statements that travel with COMMIT (Connection+Prologue.swift).
    var epilogue: [SQL] = []
    /// Whether the first statement sent ahead (a transaction's BEGIN) was acknowledged.
    var hasBegun = false
    /// Exchanges with the server that waited for its answer (a pipeline counts once): what a request
    /// costs in latency, for the tests and benchmarks that keep it small. Preparing a statement, once
    /// per connection and statement text, is not counted.
    public private(set) var roundTrips = 0
    /// How many of them the pool has counted; under the pool's lock.
    var reportedRoundTrips = 0
    private var preparedCount = 0
    private var closed = false
    private let busy = Atomic<Bool>(false)
    /// Set when a statement failed because the connection broke; the pool then discards it.
    public private(set) var isBroken = false
    /// The database thread that last returned it to its pool (0: none); read and written under the
    /// pool's lock.
    var lastThread = 0
    /// When it went back to the pool idle, and when the pool retires it; both under the pool's lock.
    var idleSince: ContinuousClock.Instant?
    var retiresAt: ContinuousClock.Instant?

    /// Prepared statements kept per connection before the cache is reset.
    static let statementCacheLimit = 1000

    private init(handle: OpaquePointer, threads: DatabaseThreads) {
        self.handle = handle
        self.threads = threads
        self.cancelHandle = PQgetCancel(handle)
    }

    deinit {
        if !closed { PQfinish(handle) }
        if let cancelHandle { PQfreeCancel(cancelHandle) }
    }

    /// Opens a connection; the blocking handshake runs on `threads`.
    public static func connect(_ configuration: ConnectionConfiguration, on threads: DatabaseThreads) async throws -> Connection {
        try await threads.run {
            let handle = try openBlocking(configuration)
            return Connection(handle: handle, threads: threads)
        }
    }

    static func openBlocking(_ configuration: ConnectionConfiguration) throws -> OpaquePointer {
        let pairs = configuration.keywordsAndValues
        let keywords = pairs.map { strdup($0.0) } + [nil]
        let values = pairs.map { strdup($0.1) } + [nil]
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let handle = keywords.map { UnsafePointer($0) }.withUnsafeBufferPointer { keywordPointers in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointers in
                PQconnectdbParams(keywordPointers.baseAddress, valuePointers.baseAddress, 1)
            }
        }
        guard let handle else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace
            PQfinish(handle)
            throw PostgresError(kind: .connection, sqlState: "08001", message: message)
        }
        // libpq prints NOTICEs ("… already exists, skipping") to stderr by default; they are not errors.
        _ = PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return handle
    }

    // MARK: Queries

    /// Runs a statement with bound parameters and returns its rows.
    ///
    /// Cancelling the calling task cancels the statement on the server (`PQcancel`) and throws
    /// `CancellationError`; a task cancelled before the statement starts does not send it.
    @discardableResult
    public func query(_ sql: SQL) async throws -> QueryResult {
        if let capture = PlanCapture.current {
            try await onConnectionThread { try capture.record(sql, on: $0) }
        }
        if DatabaseThreads.isCurrentThreadDedicated {
            // Already on a database thread: call libpq inline, without allocating a closure.
            try claim()
            defer { unclaim() }
            try Task.checkCancellation()
            let statement = RunningStatement()
            return try await withTaskCancellationHandler {
                try statement.run { try executeBlocking(sql) }
            } onCancel: {
                self.cancel(statement)
            }
        }
        return try await onConnectionThread { try $0.executeBlocking(sql) }
    }

    /// Runs statements that do not need each other's results in one round trip (libpq's pipeline
    /// mode), with the transaction's opening statements if they are still to be sent, and returns
    /// each one's rows in order. The first error is thrown, as it would be one statement at a time.
    public func queries(_ statements: [SQL]) async throws -> [QueryResult] {
        if let capture = PlanCapture.current {
            for statement in statements { try await onConnectionThread { try capture.record(statement, on: $0) } }
        }
        return try await onConnectionThread { try $0.executePipelinedAllBlocking(statements) }
    }

    /// Runs a statement and returns how many rows it affected.
    @discardableResult
    public func execute(_ sql: SQL) async throws -> Int {
        try await query(sql).affectedRows
    }

    /// Runs several statements without parameters (a migration file, `BEGIN`, `COMMIT` …).
    public func run(script: String) async throws {
        try await onConnectionThread { try $0.runScriptBlocking(script) }
    }

    /// Runs `body` on a libpq thread with exclusive use of this connection; cancelling the task
    /// cancels what `body` is running on the server.
    func onConnectionThread<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try claim()
        defer { unclaim() }
        try Task.checkCancellation()
        let statement = RunningStatement()
        return try await withTaskCancellationHandler {
            try await threads.run { try statement.run { try body(self) } }
        } onCancel: {
            self.cancel(statement)
        }
    }

    private func cancel(_ statement: RunningStatement) {
        statement.cancel(using: cancelHandle.map(UncheckedSendable.init))
    }

    /// Runs `body` on a libpq thread whether or not the task was cancelled: the clean-up (`ROLLBACK`)
    /// that must happen because it was.
    func onConnectionThreadUncancellable<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try claim()
        defer { unclaim() }
        return try await threads.run { try body(self) }
    }

    /// Marks the connection in use by the calling task; two at once is a bug in the caller.
    private func claim() throws {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            preconditionFailure("a PGconn was used by two tasks at once")
        }
        if closed {
            busy.store(false, ordering: .releasing)
            throw PostgresError(kind: .connection, message: "connection is closed")
        }
    }

    private func unclaim() {
        busy.store(false, ordering: .releasing)
    }

    func executeBlocking(_ sql: SQL) throws -> QueryResult {
        if !prologue.isEmpty {
            return try executePipelinedBlocking([sql])!
        }
        do {
            return try executePreparedBlocking(sql)
        } catch let error as PostgresError where error.isCachedPlanChanged {
            // A migration changed a table under the prepared statement: forget it, so the next
            // execution prepares afresh. Inside a transaction the error aborted it, and the caller
            // (`Pool.transaction`) runs it again; outside one, prepare again right away.
            guard let name = statementNames.removeValue(forKey: sql.text) else { throw error }
            guard !isInTransaction else { throw error }
            try runScriptBlocking("DEALLOCATE \(name)")
            return try executePreparedBlocking(sql)
        }
    }

    private func executePreparedBlocking(_ sql: SQL) throws -> QueryResult {
        let name = try preparedStatementName(for: sql)
        roundTrips += 1
        let result = withCStrings(sql.parameters) { values in
            PQexecPrepared(handle, name, Int32(sql.parameters.count), values, nil, nil, 0)
        }
        return try check(result)
    }

    func countRoundTrip() { roundTrips += 1 }

    func forgetPreparedStatement(_ sql: SQL) {
        statementNames.removeValue(forKey: sql.text)
    }

    func preparedStatementName(for sql: SQL) throws -> String {
        if let name = statementNames[sql.text] { return name }
        if statementNames.count >= Self.statementCacheLimit { try forgetAllPreparedStatementsBlocking() }
        preparedCount += 1
        let name = "huifang_\(preparedCount)"
        _ = try check(PQprepare(handle, name, sql.text, Int32(sql.parameters.count), nil))
        statementNames[sql.text] = name
        return name
    }

    /// Empties the cache first when `count` more statements might not fit: a pipeline names all its
    /// statements before sending them, and emptied in the middle of that, the names given before
    /// would point at statements no longer prepared.
    func makeRoomForPreparedStatements(_ count: Int) throws {
        if statementNames.count + count >= Self.statementCacheLimit { try forgetAllPreparedStatementsBlocking() }
    }

    private func forgetAllPreparedStatementsBlocking() throws {
        try runScriptBlocking("DEALLOCATE ALL")
        statementNames.removeAll()
    }

    func runScriptBlocking(_ script: String) throws {
        try sendPrologueBlocking()
        roundTrips += 1
        _ = try check(PQexec(handle, script))
    }

    /// Turns a result into rows or into an error, clearing it on every path.
    func check(_ result: OpaquePointer?, expecting expected: ExecStatusType? = nil) throws -> QueryResult {
        guard let result else { throw connectionError() }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN, PGRES_COPY_OUT:
            if let expected, status != expected {
                PQclear(result)
                throw PostgresError(kind: .client, message: "unexpected result status \(String(cString: PQresStatus(status)))")
            }
            return QueryResult(storage: ResultStorage(result))
        default:
            let error = serverError(result)
            PQclear(result)
            throw error
        }
    }

    func serverError(_ result: OpaquePointer) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            guard let value = PQresultErrorField(result, Int32(code)) else { return nil }
            return String(cString: value)
        }
        let sqlState = field(UInt8(ascii: "C"))
        // The server sends a SQLSTATE with every error; a result without one is libpq's own, for a
        // connection it lost ("server closed the connection unexpectedly"), sometimes before
        // PQstatus says so: seen when a primary was stopped mid-request during a failover.
        if sqlState == nil || PQstatus(handle) != CONNECTION_OK { isBroken = true }
        // A server that turned read-only (a demoted primary, or one fenced during failover) will
        // refuse every write: drop the connection, so the next one finds the new primary.
        if sqlState == "25006" && isServerReadOnly { isBroken = true }
        var message = field(UInt8(ascii: "M")) ?? String(cString: PQresultErrorMessage(result)).trimmingTrailingWhitespace
        if message.isEmpty { message = String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace }
        return PostgresError(
            kind: sqlState == nil && isBroken ? .connection : .server,
            sqlState: sqlState,
            message: message,
            detail: field(UInt8(ascii: "D")),
            hint: field(UInt8(ascii: "H")),
            constraint: field(UInt8(ascii: "n")),
            table: field(UInt8(ascii: "t")),
            column: field(UInt8(ascii: "c"))
        )
    }

    func connectionError() -> PostgresError {
        if PQstatus(handle) != CONNECTION_OK { isBroken = true }
        return PostgresError(
            kind: isBroken ? .connection : .client,
            sqlState: isBroken ? "08006" : nil,
            message: String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace
        )
    }

    /// Whether libpq still believes the connection is usable.
    public var isHealthy: Bool {
        !closed && !isBroken && PQstatus(handle) == CONNECTION_OK
    }

    /// Whether a transaction is open (or failed and not yet rolled back) on this connection.
    var isInTransaction: Bool {
        PQtransactionStatus(handle) != PQTRANS_IDLE
    }

    /// Whether the open transaction failed: COMMIT would only roll it back.
    var isTransactionFailed: Bool {
        PQtransactionStatus(handle) == PQTRANS_INERROR
    }

    /// What the server reported about itself (PostgreSQL 14+): a hot standby, or read-only by default.
    private var isServerReadOnly: Bool {
        func reported(_ name: String) -> Bool {
            PQparameterStatus(handle, name).map { String(cString: $0) == "on" } ?? false
        }
        return reported("in_hot_standby") || reported("default_transaction_read_only")
    }

    /// Commits the open transaction, or says precisely why it did not.
    ///
    /// - A transaction in error is rolled back and reported (25P02), never answered as committed.
    /// - A connection lost once COMMIT was sent leaves the outcome unknown (08007): the caller must
    ///   not run the transaction again as if it had not happened.
    func commit() async throws {
        try await onConnectionThreadUncancellable { try $0.commitBlocking() }
    }

    private func commitBlocking() throws {
        if !prologue.isEmpty && epilogue.isEmpty {
            // Nothing was sent: no transaction began on the server, none to commit.
            prologue = []
            return
        }
        if isTransactionFailed {
            epilogue = []
            try? runScriptBlocking("ROLLBACK")
            throw PostgresError(
                kind: .client, sqlState: "25P02",
                message: "a statement of the transaction failed and its error was caught; the transaction was rolled back, not committed")
        }
        let trailing = epilogue
        epilogue = []
        let tag: String
        do {
            // What waits to be sent (the opening, the statements kept for the end) goes with COMMIT.
            tag = try executePipelinedBlocking(trailing + ["COMMIT"])?.commandTag ?? ""
        } catch let error as PostgresError where error.isConnectionLoss {
            throw PostgresError(
                kind: .connection, sqlState: PostgresError.outcomeUnknownState,
                message: "the connection was lost during COMMIT; the transaction may or may not have been committed (\(error.message))")
        } catch {
            // A statement kept for the end failed: COMMIT was skipped, the transaction is still open.
            if isInTransaction { try? runScriptBlocking("ROLLBACK") }
            throw error
        }
        guard tag == "COMMIT" else {
            throw PostgresError(kind: .client, sqlState: "25P02", message: "the server rolled the transaction back instead of committing it (\(tag))")
        }
    }

    /// Rolls back whatever is open, also when the task was cancelled (that is often why).
    func rollback() async {
        epilogue = []
        if hasUnsentPrologue {
            dropPrologue()
            return
        }
        guard isHealthy else { return }
        _ = try? await onConnectionThreadUncancellable { try $0.runScriptBlocking("ROLLBACK") }
    }

    /// A round trip with an empty statement: whether the server still answers on this connection.
    func ping() async -> Bool {
        guard isHealthy else { return false }
        return (try? await onConnectionThreadUncancellable { try $0.runScriptBlocking("") }) != nil && isHealthy
    }

    /// The server's process id, for `pg_terminate_backend` and logs.
    public var backendPID: Int32 { PQbackendPID(handle) }

    public func close() {
        guard !closed else { return }
        closed = true
        PQfinish(handle)
    }

    var rawHandle: OpaquePointer { handle }
}

/// One statement in flight, and the task cancellation that may interrupt it.
///
/// `cancel` sends `PQcancel` only while the statement runs, and holds the lock while it does, so
/// the statement cannot finish and the connection cannot start the next one (another lease's)
/// before the server got the request: a cancel never hits a later statement.
final class RunningStatement: Sendable {
    private enum Phase { case notStarted, running, finished }
    private let state = Mutex<(phase: Phase, cancelled: Bool)>((.notStarted, false))

    func run<T>(_ body: () throws -> T) throws -> T {
        try state.withLock {
            if $0.cancelled { throw CancellationError() }
            $0.phase = .running
        }
        defer { state.withLock { $0.phase = .finished } }
        do {
            return try body()
        } catch let error as PostgresError where error.sqlState == "57014" && state.withLock({ $0.cancelled }) {
            throw CancellationError()
        }
    }

    /// Called by the task's cancellation handler; `PQcancel` blocks on a connection of its own, so it
    /// runs on a thread of its own, never on Swift's cooperative pool.
    func cancel(using cancelHandle: UncheckedSendable<OpaquePointer>?) {
        let running = state.withLock {
            $0.cancelled = true
            return $0.phase == .running
        }
        guard running, let handle = cancelHandle else { return }
        Thread.detachNewThread {
            self.state.withLock { state in
                guard state.phase == .running else { return }
                var message = [CChar](repeating: 0, count: 256)
                _ = PQcancel(handle.value, &message, Int32(message.count))
            }
        }
    }
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Runs `body` with a C array of NUL-terminated copies of `strings` (NULL entries stay NULL), in
/// temporary (usually stack) memory, so that binding parameters allocates nothing on the heap.
func withCStrings<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
    if strings.isEmpty { return body(nil) }
    let byteCount = strings.reduce(0) { $0 + ($1?.utf8.count ?? 0) + 1 }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: byteCount) { bytes in
        withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: strings.count) { pointers in
            var offset = 0
            for (index, string) in strings.enumerated() {
                guard let string else {
                    pointers[index] = nil
                    continue
                }
                pointers[index] = UnsafePointer(bytes.baseAddress! + offset)
                for byte in string.utf8 {
                    bytes[offset] = CChar(bitPattern: byte)
                    offset += 1
                }
                bytes[offset] = 0
                offset += 1
            }
            return body(UnsafePointer(pointers.baseAddress))
        }
    }
}

extension String {
    var trimmingTrailingWhitespace: String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
