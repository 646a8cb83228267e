import DequeModule
import Logging
import NIOConcurrencyHelpers

/// Why the pool lent no connection; none of these is a lost connection, so none is retried.
public enum PoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every connection stayed busy for the whole acquire timeout.
    case timedOut(after: Duration, size: Int)
    /// So many tasks already wait that one more would only wait longer: refused at once.
    case overloaded(waiting: Int, size: Int)
    /// The pool was shut down.
    case shutDown

    public var description: String {
        switch self {
        case .timedOut(let after, let size): "no database connection became free within \(after) (pool of \(size) busy)"
        case .overloaded(let waiting, let size): "\(waiting) tasks already wait for the \(size) database connections; refused at once"
        case .shutDown: "the connection pool is shut down"
        }
    }
}

/// A bounded set of connections lent to one task at a time.
///
/// Waiters queue in order, at most `maxWaiters` of them (more fail at once with
/// `PoolError.overloaded`); a waiter that does not get a connection within `acquireTimeout` gets
/// `PoolError.timedOut`. The pool finds dead connections before they hurt: one idle longer than
/// `idleCheckInterval` is pinged before it is lent, the first connection found lost (or on a server
/// turned read-only) takes every idle one with it, connections retire after `maxLifetime` (less a
/// random part of up to 15 %, so they do not all reconnect at once), and a connect that fails fails
/// the waiters with it instead of leaving them to their timeout. Fresh connections open on demand,
/// so the pool recovers by itself.
public final class Pool: Sendable {
    public let configuration: ConnectionConfiguration
    public let size: Int
    public let acquireTimeout: Duration
    public let maxWaiters: Int
    public let maxLifetime: Duration?
    public let idleCheckInterval: Duration
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
        /// Round trips of the connections lent and returned, since the pool began.
        var roundTrips = 0
        var waiters: Deque<Waiter> = []
        var nextWaiterID: UInt64 = 0
        var isShutDown = false
    }

    public struct Statistics: Sendable {
        public var size: Int
        public var inUse: Int
        public var idle: Int
        public var waiting: Int
        /// Exchanges with the server that waited for its answer, by every connection returned so far.
        public var roundTrips: Int
    }

    /// - Parameters:
    ///   - maxWaiters: tasks that may wait for a connection; default four per connection.
    ///   - maxLifetime: how long a connection serves before it is replaced; nil: for ever.
    ///   - idleCheckInterval: a connection idle longer than this is pinged before it is lent.
    public init(
        configuration: ConnectionConfiguration, size: Int = 8, acquireTimeout: Duration = .seconds(10),
        maxWaiters: Int? = nil, maxLifetime: Duration? = .seconds(30 * 60), idleCheckInterval: Duration = .seconds(1),
        logger: Logger = Logger(label: "huifang.postgres")
    ) {
        precondition(size > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.size = size
        self.acquireTimeout = acquireTimeout
        self.maxWaiters = maxWaiters ?? 4 * size
        self.maxLifetime = maxLifetime
        self.idleCheckInterval = idleCheckInterval
        self.logger = logger
        self.threads = DatabaseThreads(count: size, name: "huifang-db")
        self.state = NIOLockedValueBox(State())
    }

    /// The pool's dedicated threads as a task executor: tasks that prefer it run their queries
    /// without a thread hop per statement (see `DatabaseThreads`).
    public var executor: any TaskExecutor { threads }

    public var statistics: Statistics {
        state.withLockedValue { Statistics(size: size, inUse: $0.inUse, idle: $0.idle.count, waiting: $0.waiters.count, roundTrips: $0.roundTrips) }
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

    /// Runs a statement that changes nothing, once more on a fresh connection if the connection
    /// turns out lost — as after a server restart, when an idle connection is found dead by the
    /// statement itself (it was idle for less than `idleCheckInterval`). Never use it for a write:
    /// a write on a lost connection may have happened.
    public func read(_ sql: SQL) async throws -> QueryResult {
        do {
            return try await query(sql)
        } catch let error as PostgresError where error.isConnectionLoss {
            // The loss took the idle connections with it: this runs on a fresh one.
            logger.debug("reading again after a lost connection", metadata: ["error": "\(error)"])
            return try await query(sql)
        }
    }

    // MARK: Acquire and release

    private enum Decision {
        case use(Connection)
        case open
        case wait
        case fail(any Error)
    }

    func acquire() async throws -> Connection {
        let here = DatabaseThreads.currentThreadNumber
        let decision: Decision = state.withLockedValue { state in
            if state.isShutDown { return .fail(PoolError.shutDown) }
            // A database thread gets back the connection it last returned, when that one is idle:
            // the thread and the server process stay paired, and on a busy machine the scheduler
            // then hands each round trip between the two directly (measured: twice the round trips
            // per second with two clients on two cores, against taking whichever was returned last).
            if here != 0, let index = state.idle.lastIndex(where: { $0.lastThread == here }) {
                state.inUse += 1
                return .use(state.idle.remove(at: index))
            }
            return Self.take(&state, size: size)
        }
        switch decision {
        case .use(let connection):
            return try await vetted(connection)
        case .open:
            return try await openReplacingSlot()
        case .fail(let error):
            throw error
        case .wait:
            return try await vetted(try await waitForConnection())
        }
    }

    /// Under the lock: an idle connection, a free slot to open one in, or nothing.
    private static func take(_ state: inout State, size: Int) -> Decision {
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

    /// The connection if it is fit to lend, else a fresh one in its slot. One that sat idle for a
    /// while is pinged first: a server restart or a dead network shows here, not in the caller's
    /// statement; and then the other idle ones died with it too.
    private func vetted(_ connection: Connection) async throws -> Connection {
        let now = ContinuousClock.now
        var fit = connection.isHealthy && !(connection.retiresAt.map { $0 <= now } ?? false)
        if fit, let idleSince = connection.idleSince, now - idleSince > idleCheckInterval {
            fit = await connection.ping()
            if !fit {
                logger.notice("an idle database connection was dead; dropping the idle ones")
                evictIdle()
            }
        }
        connection.idleSince = nil
        if fit { return connection }
        connection.close()
        return try await openReplacingSlot()
    }

    /// Closes every idle connection: one was found lost, so they were most likely lost with it.
    private func evictIdle() {
        let evicted = state.withLockedValue { state in
            defer {
                state.open -= state.idle.count
                state.idle.removeAll()
            }
            return state.idle
        }
        evicted.forEach { $0.close() }
    }

    /// Opens a connection for a slot already counted in `open` and `inUse`. On failure gives the slot
    /// back and fails every waiter with the same error: the server cannot be reached now, and a
    /// waiter would otherwise sit out its whole timeout for a connection nobody can open.
    private func openReplacingSlot() async throws -> Connection {
        do {
            let connection = try await Connection.connect(configuration, on: threads)
            if let maxLifetime {
                connection.retiresAt = ContinuousClock.now + maxLifetime * Double.random(in: 0.85...1.0)
            }
            return connection
        } catch {
            let waiters = state.withLockedValue { state in
                state.open -= 1
                state.inUse -= 1
                defer { state.waiters.removeAll() }
                return Array(state.waiters)
            }
            waiters.forEach { $0.continuation.resume(throwing: error) }
            throw error
        }
    }

    private enum Queued {
        case use(Connection)
        case open
        case waiting
        case fail(any Error)
    }

    private func waitForConnection() async throws -> Connection {
        let id = state.withLockedValue { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timeout = acquireTimeout
        let size = size
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.failWaiter(id, with: PoolError.timedOut(after: timeout, size: size))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Decided again under the lock that enqueues: a connection returned since the
                // first look must not be missed.
                let queued = state.withLockedValue { state -> Queued in
                    if state.isShutDown { return .fail(PoolError.shutDown) }
                    switch Self.take(&state, size: size) {
                    case .use(let connection): return .use(connection)
                    case .open: return .open
                    case .fail(let error): return .fail(error)
                    case .wait: break
                    }
                    guard state.waiters.count < maxWaiters else {
                        return .fail(PoolError.overloaded(waiting: state.waiters.count, size: size))
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .waiting
                }
                switch queued {
                case .use(let connection): continuation.resume(returning: connection)
                case .open: openAndResume(continuation)
                case .fail(let error): continuation.resume(throwing: error)
                case .waiting: break
                }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    private func openAndResume(_ continuation: CheckedContinuation<Connection, any Error>) {
        Task {
            do {
                continuation.resume(returning: try await openReplacingSlot())
            } catch {
                continuation.resume(throwing: error)
            }
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
        connection.dropPrologue()
        let broken = !connection.isHealthy
        let retired = connection.retiresAt.map { $0 <= ContinuousClock.now } ?? false
        let keep = !broken && !retired && !connection.isInTransaction
        let here = DatabaseThreads.currentThreadNumber
        let (next, discard, evicted): (Next, Bool, [Connection]) = state.withLockedValue { state in
            state.roundTrips += connection.roundTrips - connection.reportedRoundTrips
            connection.reportedRoundTrips = connection.roundTrips
            connection.lastThread = here
            connection.idleSince = ContinuousClock.now
            let discard = !keep || state.isShutDown
            var evicted: [Connection] = []
            if broken {
                // The first loss found: the idle ones most likely share its fate.
                evicted = state.idle
                state.open -= state.idle.count
                state.idle.removeAll()
            }
            return (Self.nextStep(&state, discard: discard, connection: connection), discard, evicted)
        }
        if discard {
            if broken { logger.notice("dropping a broken database connection", metadata: ["idleDropped": "\(evicted.count)"]) }
            connection.close()
        }
        evicted.forEach { $0.close() }
        switch next {
        case .handOver(let waiter, let connection):
            waiter.continuation.resume(returning: connection)
        case .openFor(let waiter):
            openAndResume(waiter.continuation)
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

    /// Closes idle connections and refuses new leases; leased ones close when returned. Work that
    /// still runs on a leased connection finishes; anything asked of the pool afterwards fails with
    /// `PoolError.shutDown`.
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
        waiters.forEach { $0.continuation.resume(throwing: PoolError.shutDown) }
        threads.shutdown()
    }
}
