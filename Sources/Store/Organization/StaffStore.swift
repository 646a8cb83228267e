import Domain
import Foundation
import Postgres

/// Staff and their role grants. Every branch's staff is visible in that branch; admins change them.
public struct StaffStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    private static let columns: SQL = " id, employee_no, name, phone, email, status, home_branch_id, home_department_id"

    private func staff(_ rows: QueryResult) throws -> [StaffMember] {
        try rows.map { row in
            StaffMember(
                id: try row.decode(0), employeeNo: try row.decode(1), name: try row.decode(2), phone: try row.decode(3),
                email: try row.decode(4), status: try row.decode(5), homeBranchId: try row.decode(6),
                homeDepartmentId: try row.decode(7))
        }
    }

    public struct Filter: Sendable {
        public var branchId: Int?
        public var departmentId: Int?
        public var status: String?
        public init(branchId: Int? = nil, departmentId: Int? = nil, status: String? = nil) {
            self.branchId = branchId
            self.departmentId = departmentId
            self.status = status
        }
    }

    public func list(_ filter: Filter, after: Int64?, limit: Int) async throws -> Page<StaffMember> {
        let rows = try staff(
            try await connection.query(
                "select " + Self.columns
                    + """
                     from huifang.staff
                    where (\(filter.branchId)::int is null or home_branch_id = \(filter.branchId))
                      and (\(filter.departmentId)::int is null or home_department_id = \(filter.departmentId))
                      and (\(filter.status)::text is null or status = \(filter.status))
                      and (\(after)::bigint is null or id > \(after))
                    order by id
                    limit \(limit + 1)
                    """))
        return Cursor.page(rows, limit: limit) { Cursor.encode($0.id) }
    }

    public func get(_ id: Int64) async throws -> StaffMember? {
        try staff(try await connection.query("select " + Self.columns + " from huifang.staff where id = \(id)")).first
    }

    public func create(
        employeeNo: String, name: String, phone: String?, email: String?, homeBranchId: Int?, homeDepartmentId: Int?
    ) async throws -> StaffMember {
        try staff(
            try await connection.query(
                """
                insert into huifang.staff (employee_no, name, phone, email, home_branch_id, home_department_id)
                values (\(employeeNo), \(name), \(phone), \(email), \(homeBranchId), \(homeDepartmentId))
                returning
                """ + Self.columns))[0]
    }

    public func update(_ id: Int64, name: String?, phone: String?, email: String?, status: String?) async throws -> StaffMember? {
        try staff(
            try await connection.query(
                """
                update huifang.staff set name = coalesce(\(name), name), phone = coalesce(\(phone), phone),
                    email = coalesce(\(email), email), status = coalesce(\(status), status), updated_at = now()
                where id = \(id)
                returning
                """ + Self.columns)).first
    }

    // Grants

    private static let grantColumns: SQL =
        " id, staff_id, role, branch_id, department_id, granted_by, granted_at, revoked_by, revoked_at"

    private func grants(_ rows: QueryResult) throws -> [GrantRecord] {
        try rows.map { row in
            let role: String = try row.decode(2)
            return GrantRecord(
                id: try row.decode(0), staffId: try row.decode(1), role: Role(rawValue: role) ?? .responsiblePerson,
                branchId: try row.decode(3), departmentId: try row.decode(4), grantedBy: try row.decode(5),
                grantedAt: try row.decode(6), revokedBy: try row.decode(7), revokedAt: try row.decode(8))
        }
    }

    public func grants(of staffId: Int64) async throws -> [GrantRecord] {
        try grants(
            try await connection.query(
                "select " + Self.grantColumns + " from huifang.role_grants where staff_id = \(staffId) order by id desc"))
    }

    public func grant(staffId: Int64, role: Role, branchId: Int?, departmentId: Int?) async throws -> GrantRecord {
        try grants(
            try await connection.query(
                """
                insert into huifang.role_grants (staff_id, role, branch_id, department_id, granted_by)
                values (\(staffId), \(role.rawValue), \(branchId), \(departmentId), huifang.scope_staff_id())
                returning
                """ + Self.grantColumns))[0]
    }

    /// Marks a live grant revoked; nil when there is no such live grant of that staff member.
    public func revoke(grantId: Int64, of staffId: Int64) async throws -> GrantRecord? {
        try grants(
            try await connection.query(
                """
                update huifang.role_grants set revoked_at = now(), revoked_by = huifang.scope_staff_id()
                where id = \(grantId) and staff_id = \(staffId) and revoked_at is null
                returning
                """ + Self.grantColumns)).first
    }
}
