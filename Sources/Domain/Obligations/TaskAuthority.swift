/// Who may direct a task (assign, reassign, cancel): the director who owns it in its branch — the
/// ops director for compliance and special callbacks, the marketing director for service ones —
/// or, for HQ work, the executing call center and the owning S&T HQ department.
public enum TaskAuthority {
    public static func canManage(
        ownerRole: String, branchId: Int, ownerDepartmentId: Int?, executorDepartmentId: Int?, grants: [RoleGrant]
    ) -> Bool {
        if let executor = executorDepartmentId {
            return grants.contains { grant in
                (grant.role == .callCenter && grant.departmentId == executor)
                    || (grant.role == .salesTradingHQ && grant.departmentId != nil && grant.departmentId == ownerDepartmentId)
            }
        }
        return grants.contains { $0.role.rawValue == ownerRole && $0.branchId == branchId }
    }
}
