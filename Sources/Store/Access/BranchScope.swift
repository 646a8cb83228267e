import Postgres

extension SQL {
    /// `column` limited to `branches` (the scope's list, so the planner uses the (branch_id, …) keys),
    /// or, for every branch, to the branches table: probing each branch's key beats scanning a whole
    /// index. A row named by its id alone is found by its table's id index instead (sql/0073), one
    /// probe rather than one per branch. Row-level security enforces the scope either way.
    static func branch(_ column: String, in branches: [Int]?) -> SQL {
        branches.map { "\(unescaped: column) = any(\($0))" } ?? "\(unescaped: column) in (select id from huifang.branches)"
    }

    /// `column` in `branches`, written as an equality when there is one: a key that leads with the
    /// branch then gives its order to what follows (`= any(…)` of one branch leaves a sort).
    static func branchKey(_ column: String, in branches: [Int]) -> SQL {
        branches.count == 1 ? "\(unescaped: column) = \(branches[0])" : "\(unescaped: column) = any(\(branches))"
    }

    /// `column` limited to a branch caller's `Access.routingBranches`, so that the statement routes
    /// to their own shard (docs/scaling.md); `true` when there are none to name (every branch, or a
    /// department's reach): row-level security decides then.
    static func routed(_ column: String, to branches: [Int]?) -> SQL {
        branches.map { "\(unescaped: column) = any(\($0))" } ?? "true"
    }
}
