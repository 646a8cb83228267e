/// How long the server lets one statement run, wait for a lock, or a transaction sit idle, as
/// run-time parameters of every connection that uses them. `nil` leaves the server's setting.
///
/// A statement past `statement` fails with SQLSTATE 57014 and one waiting past `lock` with 55P03;
/// the connection stays usable. A transaction left idle past `idleInTransaction` makes the server
/// close the session, so a leaked lease cannot hold row locks for ever.
public struct SessionTimeouts: Sendable, Equatable {
    public var statement: Duration?
    public var lock: Duration?
    public var idleInTransaction: Duration?

    public init(statement: Duration? = nil, lock: Duration? = nil, idleInTransaction: Duration? = nil) {
        self.statement = statement
        self.lock = lock
        self.idleInTransaction = idleInTransaction
    }

    /// For requests of an interactive API.
    public static let api = SessionTimeouts(statement: .seconds(5), lock: .seconds(2), idleInTransaction: .seconds(10))

    /// The server's own settings (normally none): for migrations, imports and reports.
    public static let unlimited = SessionTimeouts()

    var settings: [(name: String, value: String)] {
        [("statement_timeout", statement), ("lock_timeout", lock), ("idle_in_transaction_session_timeout", idleInTransaction)]
            .compactMap { name, duration in duration.map { (name, "\(Self.milliseconds($0))ms") } }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        // Zero turns the timeout off; anything shorter than a millisecond rounds up to one.
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        return max(seconds * 1000 + attoseconds / 1_000_000_000_000_000, 1)
    }
}

extension ConnectionConfiguration {
    /// The same connection with these timeouts as session settings (the conninfo's own `options` still win).
    public func with(_ timeouts: SessionTimeouts) -> ConnectionConfiguration {
        var copy = self
        let names = Set(timeouts.settings.map(\.name))
        copy.sessionSettings = copy.sessionSettings.filter { !names.contains($0.name) } + timeouts.settings
        return copy
    }
}
