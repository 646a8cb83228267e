import Synchronization

/// The plans of the statements a task runs, for the tests that keep the request path off
/// sequential scans: while `current` is set, `Connection.query` first asks `EXPLAIN` for the very
/// statement and parameters it is about to run, and records the plan.
public final class PlanCapture: Sendable {
    @TaskLocal public static var current: PlanCapture?

    public struct Statement: Sendable {
        public var sql: String
        public var plan: String
    }

    private let captured = Mutex<[Statement]>([])

    public init() {}

    public var statements: [Statement] { captured.withLock { $0 } }

    /// Records the plan of a statement EXPLAIN takes (a query or a DML statement); `SET` and the like pass.
    func record(_ sql: SQL, on connection: Connection) throws {
        let verb = sql.text.drop { $0.isWhitespace }.prefix { $0.isLetter }.lowercased()
        guard ["select", "with", "insert", "update", "delete"].contains(verb) else { return }
        let result = try connection.executeBlocking("explain " + sql)
        var lines: [String] = []
        for row in result { lines.append(try row.decode(0, as: String.self)) }
        captured.withLock { $0.append(Statement(sql: sql.text, plan: lines.joined(separator: "\n"))) }
    }
}
