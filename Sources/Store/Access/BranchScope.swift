import Postgres

extension SQL {
    /// `column` limited to `branches` (the scope's list, so the planner uses the (branch_id, …) keys),
    /// or, for every branch, to the branches table: probing each branch's key beats scanning a whole
    /// index for an id. Row-level security enforces the scope either way.
    static func branch(_ column: String, in branches: [Int]?) -> SQL {
        branches.map { "\(unescaped: column) = any(\($0))" } ?? "\(unescaped: column) in (select id from huifang.branches)"
    }
}
