import Domain
import Foundation
import Postgres

/// A callback that must happen, as the queues show it.
public struct CallbackTask: Sendable {
    public var id: Int64
    public var branchId: Int
    public var branchCode: String
    public var ruleCode: String
    public var ruleVersion: Int
    public var period: String
    public var sampleWindow: String
    public var clientId: Int64?
    public var brokerId: Int64?
    /// Client number or broker agent number.
    public var subjectNo: String
    public var subjectName: String
    public var directiveId: Int64?
    public var flagId: Int64?
    public var eventId: Int64?
    public var title: String
    public var ownerRole: String
    public var ownerDepartmentId: Int?
    public var executorDepartmentId: Int?
    public var dueAt: Date
    public var state: TaskState
    public var assigneeStaffId: Int64?
    public var assignedAt: Date?
    public var startedAt: Date?
    public var closedAt: Date?
    public var closedBy: Int64?
    public var closeReason: String?
    public var outcomeNote: String?
    public var createdAt: Date
    public var failedAttemptDays: Int

    static let columns: SQL = """
        t.id, t.branch_id, b.code, t.rule_code, t.rule_version, t.period, t.sample_window, t.client_id, t.broker_id,
        coalesce(c.client_no, br.agent_no, ''), coalesce(c.name, br.name, ''), t.directive_id, t.flag_id, t.title, t.owner_role,
        t.owner_department_id, t.executor_department_id, t.due_at, t.state, t.assignee_staff_id, t.assigned_at, t.started_at,
        t.closed_at, t.closed_by, t.close_reason, t.outcome_note, t.created_at,
        huifang.task_failed_days(t.branch_id, t.id), t.event_id
        """

    static let joins: SQL = """
        join huifang.branches b on b.id = t.branch_id
        left join huifang.clients c on c.branch_id = t.branch_id and c.id = t.client_id
        left join huifang.brokers br on br.branch_id = t.branch_id and br.id = t.broker_id
        """

    init(row: Row) throws {
        id = try row.decode(0)
        branchId = try row.decode(1)
        branchCode = try row.decode(2)
        ruleCode = try row.decode(3)
        ruleVersion = try row.decode(4)
        period = try row.decode(5)
        sampleWindow = try row.decode(6)
        clientId = try row.decode(7)
        brokerId = try row.decode(8)
        subjectNo = try row.decode(9)
        subjectName = try row.decode(10)
        directiveId = try row.decode(11)
        flagId = try row.decode(12)
        title = try row.decode(13)
        ownerRole = try row.decode(14)
        ownerDepartmentId = try row.decode(15)
        executorDepartmentId = try row.decode(16)
        dueAt = try row.decode(17)
        state = TaskState(rawValue: try row.decode(18)) ?? .open
        assigneeStaffId = try row.decode(19)
        assignedAt = try row.decode(20)
        startedAt = try row.decode(21)
        closedAt = try row.decode(22)
        closedBy = try row.decode(23)
        closeReason = try row.decode(24)
        outcomeNote = try row.decode(25)
        createdAt = try row.decode(26)
        failedAttemptDays = try row.decode(27)
        eventId = try row.decode(28)
    }
}

public struct CallbackAttempt: Sendable {
    public var id: Int64
    public var taskId: Int64
    public var attemptedAt: Date
    public var channel: String
    public var outcome: String
    public var note: String?
    public var staffId: Int64
}
