/// The signed-in staff member a request acts for.
public struct Principal: Sendable, Equatable {
    public var staffId: Int64
    public var employeeNo: String
    public var name: String
    public var grants: [RoleGrant]

    public init(staffId: Int64, employeeNo: String, name: String, grants: [RoleGrant]) {
        self.staffId = staffId
        self.employeeNo = employeeNo
        self.name = name
        self.grants = grants
    }

    /// Where this staff member may do `action`, or nil when none of their grants permits it.
    public func access(for action: Action) -> Access? {
        var branches = Set<Int>()
        var departments = Set<Int>()
        var allBranches = false
        var organization = false
        var own = false
        for grant in grants {
            switch PermissionMatrix.reach(grant.role, action) {
            case .none: continue
            case .grantBranch: if let branch = grant.branchId { branches.insert(branch) }
            case .grantDepartment: if let department = grant.departmentId { departments.insert(department) }
            case .allBranches:
                allBranches = true
                if let department = grant.departmentId { departments.insert(department) }
            case .organization: organization = true
            case .own: own = true
            }
        }
        guard allBranches || organization || own || !branches.isEmpty || !departments.isEmpty else { return nil }
        return Access(
            staffId: staffId, action: action, branchIds: branches.sorted(), allBranches: allBranches,
            organization: organization, departmentIds: departments.sorted())
    }

    public func holds(_ role: Role) -> Bool {
        grants.contains { $0.role == role }
    }
}

/// The scope a request's transaction runs in; row-level security enforces it.
public struct Access: Sendable, Equatable {
    public var staffId: Int64
    public var action: Action
    /// Branches named by the grants that permit the action.
    public var branchIds: [Int]
    /// An HQ grant permits the action in every branch.
    public var allBranches: Bool
    /// An admin grant permits the action on the organization chart.
    public var organization: Bool
    /// HQ departments of the grants that permit the action: their own work (a call center's queue,
    /// a department's directives) is reached.
    public var departmentIds: [Int]

    public init(
        staffId: Int64, action: Action, branchIds: [Int], allBranches: Bool, organization: Bool, departmentIds: [Int] = []
    ) {
        self.staffId = staffId
        self.action = action
        self.branchIds = branchIds
        self.allBranches = allBranches
        self.organization = organization
        self.departmentIds = departmentIds
    }

    public func reaches(branch: Int) -> Bool {
        allBranches || branchIds.contains(branch)
    }
}
