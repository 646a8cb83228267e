import Domain
import Postgres

/// Organization changes made by an operator with the owner role (`huifang staff …`), e.g. to set up
/// the first admin of a new installation. Audited with no actor and `via: cli`.
public struct OwnerAdministration: Sendable {
    public let pool: Pool

    public init(pool: Pool) {
        self.pool = pool
    }

    /// Sets the password hash of a staff member and revokes their sessions; false when no such staff.
    public func setPassword(employeeNo: String, hash: String) async throws -> Bool {
        try await pool.transaction { db in
            let found = try await db.query("select id, home_branch_id from huifang.staff where employee_no = \(employeeNo)")
            guard let row = found.first else { return false }
            let id: Int64 = try row.decode(0)
            let branch: Int? = try row.decode(1)
            try await AuthStore.setPassword(staffId: id, hash: hash, reason: .admin, on: db)
            try await db.query(
                """
                insert into huifang.audit_events (branch_id, action, object_type, object_id, detail)
                values (\(branch), 'staff.password_reset', 'staff', \(String(id)), '{"via": "cli"}')
                """)
            return true
        }
    }

    public enum GrantError: Error, CustomStringConvertible {
        case noSuchStaff(String)
        case noSuchScope(String)
        case wrongScope(Role)

        public var description: String {
            switch self {
            case .noSuchStaff(let number): "no staff member with employee number \(number)"
            case .noSuchScope(let code): "no branch or department with code \(code)"
            case .wrongScope(let role):
                "\(role.rawValue) is a \(role.scope == .branch ? "branch role: give --branch" : "HQ role: give --department")"
            }
        }
    }

    /// Grants a role scoped by branch or department code; returns false when the grant already existed.
    public func grant(employeeNo: String, role: Role, branchCode: String?, departmentCode: String?) async throws -> Bool {
        guard (role.scope == .branch) == (branchCode != nil), (branchCode == nil) != (departmentCode == nil) else {
            throw GrantError.wrongScope(role)
        }
        return try await pool.transaction { db in
            guard let staff: Int64 = try await db.query("select id from huifang.staff where employee_no = \(employeeNo)").first?.decode(0) else {
                throw GrantError.noSuchStaff(employeeNo)
            }
            let branch: Int? = try await branchCode.asyncMap {
                try await db.query("select id from huifang.branches where code = \($0)").first?.decode(0)
            } ?? nil
            let department: Int? = try await departmentCode.asyncMap {
                try await db.query("select id from huifang.departments where code = \($0)").first?.decode(0)
            } ?? nil
            if branch == nil && department == nil { throw GrantError.noSuchScope(branchCode ?? departmentCode ?? "") }
            let inserted = try await db.query(
                """
                insert into huifang.role_grants (staff_id, role, branch_id, department_id)
                values (\(staff), \(role.rawValue), \(branch), \(department))
                on conflict (staff_id, role, coalesce(branch_id, 0), coalesce(department_id, 0)) where revoked_at is null do nothing
                returning id
                """)
            guard let id: Int64 = try inserted.first?.decode(0) else { return false }
            try await db.query(
                """
                insert into huifang.audit_events (branch_id, action, object_type, object_id, detail)
                values (\(branch), 'role.granted', 'role_grant', \(String(id)),
                        jsonb_build_object('via', 'cli', 'staff_id', \(String(staff))::text, 'role', \(role.rawValue)::text))
                """)
            return true
        }
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
