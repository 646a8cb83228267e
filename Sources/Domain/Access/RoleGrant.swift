/// A live grant of a role, scoped to one branch or one HQ department.
public struct RoleGrant: Sendable, Hashable, Codable {
    public var role: Role
    public var branchId: Int?
    public var departmentId: Int?

    public init(role: Role, branchId: Int? = nil, departmentId: Int? = nil) {
        self.role = role
        self.branchId = branchId
        self.departmentId = departmentId
    }
}
