import Domain
import Postgres

extension Pool {
    /// A transaction scoped to what `access` reaches: row-level security sees the staff member, the
    /// branches, and whether the action reaches all branches or the organization chart.
    @discardableResult
    public func transaction<T: Sendable>(
        for access: Access, readOnly: Bool = false, _ body: (Connection) async throws -> T
    ) async throws -> T {
        // A POST with an Idempotency-Key: its first transaction that changes something also writes the key.
        guard !readOnly, let claim = IdempotencyClaim.current, !claim.isRecorded else {
            return try await transaction(settings: access.databaseSettings, readOnly: readOnly, body)
        }
        var wroteKey = false
        let result = try await transaction(settings: access.databaseSettings) { connection in
            let result = try await body(connection)
            wroteKey = try await claim.write(on: connection)
            return result
        }
        if wroteKey { claim.markRecorded() }
        return result
    }
}

extension Access {
    /// The branches to name in a query so the planner can use the (branch_id, …) indexes; nil when
    /// the scope is every branch. Row-level security enforces the scope either way.
    public var indexableBranches: [Int]? { allBranches ? nil : branchIds }

    /// The `huifang.*` settings the policies read (sql/0003_organization.sql, 0008_obligation_rules.sql).
    public var databaseSettings: [(name: String, value: String)] {
        [
            ("huifang.staff_id", String(staffId)),
            ("huifang.branch_ids", "{" + branchIds.map(String.init).joined(separator: ",") + "}"),
            ("huifang.all_branches", allBranches ? "on" : "off"),
            ("huifang.org_admin", organization ? "on" : "off"),
            ("huifang.department_ids", "{" + departmentIds.map(String.init).joined(separator: ",") + "}"),
            ("huifang.action", action.rawValue),
        ]
    }
}
