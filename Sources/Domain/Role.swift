/// Who does what in Huifang (BRIEF §1). Every grant of a role is scoped to one branch or one HQ department.
public enum Role: String, Sendable, CaseIterable, Codable {
    case responsiblePerson = "responsible_person"
    case opsDirector = "ops_director"
    case marketingDirector = "marketing_director"
    case frontDesk = "front_desk"
    case branchManager = "branch_manager"
    case salesTradingHQ = "sales_trading_hq"
    case callCenter = "call_center"
    case brokerageOpsCenter = "brokerage_ops_center"
    case riskControlHQ = "risk_control_hq"
    case functionalDept = "functional_dept"
    case auditor = "auditor"
    case admin = "admin"

    public enum Scope: String, Sendable {
        case branch
        case department
    }

    /// Whether a grant of this role names a branch or an HQ department.
    public var scope: Scope {
        switch self {
        case .responsiblePerson, .opsDirector, .marketingDirector, .frontDesk, .branchManager: .branch
        case .salesTradingHQ, .callCenter, .brokerageOpsCenter, .riskControlHQ, .functionalDept, .auditor, .admin: .department
        }
    }

    /// The title in the regulation.
    public var chineseTitle: String {
        switch self {
        case .responsiblePerson: "回访责任人"
        case .opsDirector: "营运总监"
        case .marketingDirector: "营销总监"
        case .frontDesk: "前台客户服务人员"
        case .branchManager: "营业部经理"
        case .salesTradingHQ: "销售交易总部"
        case .callCenter: "呼叫中心"
        case .brokerageOpsCenter: "经纪业务运营中心"
        case .riskControlHQ: "风险控制总部"
        case .functionalDept: "职能部门"
        case .auditor: "稽核"
        case .admin: "系统管理员"
        }
    }

    /// Leaders who countersign records (Art 5, 12, 13); admins never sign anything.
    public var mayCountersign: Bool {
        self == .opsDirector || self == .marketingDirector
    }
}
