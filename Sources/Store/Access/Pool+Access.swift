import Domain
import Postgres

extension Pool {
    /// A transaction scoped to what `access` reaches: row-level security sees the staff member, the
    /// branches, and whether the action reaches all branches or the organization chart.
    ///
    /// In a request (`RequestSession.current`), the session is checked by the transaction's first
    /// statement. When its grants changed since the server read them, the session is read again and
    /// the transaction runs once more with the access the new grants give for the same action
    /// (none: 403); when it ended, the error says so and the server answers 401.
    @discardableResult
    public func transaction<T: Sendable>(
        for access: Access, adding settings: [(name: String, value: String)] = [], readOnly: Bool = false,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        guard let session = RequestSession.current else {
            return try await scopedTransaction(for: access, adding: settings, check: nil, readOnly: readOnly, body)
        }
        do {
            let result = try await scopedTransaction(for: access, adding: settings, check: session.check, readOnly: readOnly, body)
            session.checked.mark()
            return result
        } catch let error as PostgresError where error.isSessionGrantsChanged {
            let auth = AuthStore(pool: self)
            let read = if let cache = session.cache {
                try await cache.read(session.tokenHash, with: auth)
            } else {
                try await auth.session(tokenHash: session.tokenHash)
            }
            guard let renewed = read?.forRequest() else { throw error }
            guard let access = renewed.principal.access(for: access.action) else {
                throw PostgresError(kind: .server, sqlState: "42501", message: "the session's roles no longer permit \(access.action.rawValue)")
            }
            let result = try await RequestSession.$current.withValue(renewed) {
                try await scopedTransaction(for: access, adding: settings, check: renewed.check, readOnly: readOnly, body)
            }
            session.checked.mark()
            return result
        }
    }

    private func scopedTransaction<T: Sendable>(
        for access: Access, adding settings: [(name: String, value: String)], check: SQL?, readOnly: Bool,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        // A POST with an Idempotency-Key: its first transaction that changes something also writes the key.
        guard !readOnly, let claim = IdempotencyClaim.current, !claim.isRecorded else {
            return try await transaction(settings: access.databaseSettings + settings, check: check, readOnly: readOnly, body)
        }
        var wroteKey = false
        let result = try await transaction(settings: access.databaseSettings + settings, check: check) { connection in
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

    /// The branches a branch caller's statements name on every branch-scoped table they read, so
    /// that each statement routes to the caller's own shard (docs/scaling.md); nil when the scope
    /// is every branch or also reaches rows through a department (row-level security's department
    /// cases, which no branch list covers). Row-level security enforces the scope either way.
    public var routingBranches: [Int]? { allBranches || !departmentIds.isEmpty ? nil : branchIds }

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
