import DequeModule
import Logging
import NIOConcurrencyHelpers

/// A bounded set of connections lent to one task at a time.
///
/// Waiters queue in order; a waiter that does not get a connection within `acquireTimeout` gets a
/// `PostgresError` saying so. A connection that broke (server restart, network) is dropped on release
/// and a fresh one is opened on demand, so the pool recovers by itself.
public final class Pool: Sendable {
    public let configuration: ConnectionConfiguration
    public let size: Int
    public let acquireTimeout: Duration
    public let logger: Logger
    let threads: DatabaseThreads
    private let state: NIOLockedValueBox<State>

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Connection, any Error>
    }

    private struct State {
        var idle: [Connection] = []
        var open = 0
        var inUse = 0
        var waiters: Deque<Waiter> = []
        var nextWaiterID: UInt64 = 0
        var isShutDown = false
    }

    public struct Statistics: Sendable {
        public var size: Int
        public var inUse: Int
        public var idle: Int
        public var waiting: Int
    }

    public init(
        configuration: ConnectionConfiguration, size: Int = 8, acquireTimeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "huifang.postgres")
    ) {
        precondition(size > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.size = size
        self.acquireTimeout = acquireTimeout
        self.logger = logger
        self.threads = DatabaseThreads(count: size, name: "huifang-db")
        self.state = NIOLockedValueBox(State())
    }

    /// The pool's dedicated threads as a task executor: tasks that prefer it run their queries
    /// without a thread hop per statement (see `DatabaseThreads`).
    public var executor: any TaskExecutor { threads }

    public var statistics: Statistics {
        state.withLockedValue { Statistics(size: size, inUse: $0.inUse, idle: $0.idle.count, waiting: $0.waiters.count) }
    }

    /// Lends a connection to `body` and takes it back afterwards, whatever happens.
    public func withConnection<T: Sendable>(_ body: (Connection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        do {
            // On the database threads, every statement of `body` calls libpq inline. A task already
            // running there (it prefers a pool's executor) needs no new preference.
            let result =
                DatabaseThreads.isCurrentThreadDedicated
                ? try await body(connection)
                : try await withTaskExecutorPreference(threads) { try await body(connection) }
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    /// Runs one statement on any connection.
    @discardableResult
    public func query(_ sql: SQL) async throws -> QueryResult {
        // The hottest path of the pool: no closure, and a single hop when called off the database threads.
        let connection = try await acquire()
        defer { release(connection) }
        return try await connection.query(sql)
    }

    // MARK: Acquire and release

    private enum Decision {
        case use(Connection)
        case open
        case wait
        case fail(PostgresError)
    }

    func acquire() async throws -> Connection {
        let here = DatabaseThreads.currentThreadNumber
        let decision: Decision = state.withLockedValue { state in
            if state.isShutDown { return .fail(PostgresError(kind: .client, message: "the connection pool is shut down")) }
            // A database thread gets back the connection it last returned, when that one is idle:
            // the thread and the server process stay paired, and on a busy machine the scheduler
            // then hands each round trip between the two directly (measured: twice the round trips
            // per second with two clients on two cores, against taking whichever was returned last).
            if here != 0, let index = state.idle.lastIndex(where: { $0.lastThread == here }) {
                state.inUse += 1
                return .use(state.idle.remove(at: index))
            }
            if let connection = state.idle.popLast() {
                state.inUse += 1
                return .use(connection)
            }
            if state.open < size {
                state.open += 1
                state.inUse += 1
                return .open
            }
            return .wait
        }
        switch decision {
        case .use(let connection):
            if connection.isHealthy { return connection }
            // Broken while idle: replace it in place.
            connection.close()
            return try await openReplacingSlot()
        case .open:
            return try await openReplacingSlot()
        case .fail(let error):
            throw error
        case .wait:
            return try await waitForConnection()
        }
    }

    /// Opens a connection for a slot already counted in `open` and `inUse`; gives the slot back on failure.
    private func openReplacingSlot() async throws -> Connection {
        do {
            return try await Connection.connect(configuration, on: threads)
        } catch {
            state.withLockedValue {
                $0.open -= 1
                $0.inUse -= 1
            }
            throw error
        }
    }

    private func waitForConnection() async throws -> Connection {
        let id = state.withLockedValue { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timeout = acquireTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.failWaiter(
                id,
                with: PostgresError(
                    kind: .client, sqlState: "08004",
                    message: "no database connection became free within \(timeout) (pool of \(self?.size ?? 0) busy)"))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let enqueued = state.withLockedValue { state -> Bool in
                    guard !state.isShutDown else { return false }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return true
                }
                if !enqueued {
                    continuation.resume(throwing: PostgresError(kind: .client, message: "the connection pool is shut down"))
                }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    private func failWaiter(_ id: UInt64, with error: any Error) {
        let waiter = state.withLockedValue { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    func release(_ connection: Connection) {
        let healthy = connection.isHealthy && !connection.isInTransaction
        let here = DatabaseThreads.currentThreadNumber
        let (next, discard): (Next, Bool) = state.withLockedValue { state in
            connection.lastThread = here
            let discard = !healthy || state.isShutDown
            return (Self.nextStep(&state, discard: discard, connection: connection), discard)
        }
        if discard {
            if !healthy { logger.notice("dropping a broken database connection") }
            connection.close()
        }
        switch next {
        case .handOver(let waiter, let connection):
            waiter.continuation.resume(returning: connection)
        case .openFor(let waiter):
            Task {
                do {
                    waiter.continuation.resume(returning: try await openReplacingSlot())
                } catch {
                    waiter.continuation.resume(throwing: error)
                }
            }
        case .done:
            break
        }
    }

    private enum Next {
        case handOver(Waiter, Connection)
        case openFor(Waiter)
        case done
    }

    /// Under the lock: where a returned connection goes next.
    private static func nextStep(_ state: inout State, discard: Bool, connection: Connection) -> Next {
        if discard {
            state.open -= 1
            state.inUse -= 1
            guard !state.isShutDown, let waiter = state.waiters.popFirst() else { return .done }
            state.open += 1
            state.inUse += 1
            return .openFor(waiter)
        }
        if let waiter = state.waiters.popFirst() {
            return .handOver(waiter, connection)
        }
        state.inUse -= 1
        state.idle.append(connection)
        return .done
    }

    /// Closes idle connections and refuses new leases; leased ones close when returned.
    public func shutdown() async {
        let (idle, waiters) = state.withLockedValue { state in
            state.isShutDown = true
            defer {
                state.open -= state.idle.count
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            return (state.idle, Array(state.waiters))
        }
        idle.forEach { $0.close() }
        waiters.forEach { $0.continuation.resume(throwing: PostgresError(kind: .client, message: "the connection pool is shut down")) }
        threads.shutdown()
    }
}
