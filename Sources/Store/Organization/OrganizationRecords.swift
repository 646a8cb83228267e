import Domain
import Foundation

public struct Branch: Sendable {
    public var id: Int
    public var code: String
    public var name: String
    public var region: String
    public var status: String
    public var dormantAfterDays: Int
    public var coreMinAssets: Decimal
    public var coreTopN: Int?
}

public struct Department: Sendable {
    public var id: Int
    public var code: String
    public var name: String
    public var kind: String
    public var status: String
}

public struct StaffMember: Sendable {
    public var id: Int64
    public var employeeNo: String
    public var name: String
    public var phone: String?
    public var email: String?
    public var status: String
    public var homeBranchId: Int?
    public var homeDepartmentId: Int?
}

public struct GrantRecord: Sendable {
    public var id: Int64
    public var staffId: Int64
    public var role: Role
    public var branchId: Int?
    public var departmentId: Int?
    public var grantedBy: Int64?
    public var grantedAt: Date
    public var revokedBy: Int64?
    public var revokedAt: Date?
}
