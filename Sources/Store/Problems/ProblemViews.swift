import Domain
import Foundation
import Postgres

/// A clock as a problem shows it: due at, working days left, running / met / breached, provisional.
public struct ClockView: Sendable {
    public var clock: String
    public var workdays: Int
    public var dueAt: Date
    /// Working days after today up to the deadline's day; negative once past it.
    public var remainingWorkdays: Int
    /// running, met (stopped in time) or breached.
    public var state: String
    public var provisional: Bool

    /// Columns of the timer `t` (subject's clock), judged at `now`; null when there is no timer.
    static func columns(now: Date) -> SQL {
        """
        t.clock, t.workdays, t.due_at,
        case when t.due_at is not null then \(CalendarStore.workdaysLeft(until: "t.due_at", now: now)) end,
        case when t.stopped_at is not null then (case when t.stopped_at <= t.due_at then 'met' else 'breached' end)
             when \(now)::timestamptz >= t.due_at then 'breached' else 'running' end,
        t.provisional
        """
    }

    init?(row: Row, at first: Int) throws {
        guard let clock: String = try row.decode(first) else { return nil }
        self.clock = clock
        workdays = try row.decode(first + 1)
        dueAt = try row.decode(first + 2)
        remainingWorkdays = try row.decode(first + 3)
        state = try row.decode(first + 4)
        provisional = try row.decode(first + 5)
    }
}

public struct ProblemView: Sendable {
    public var id: Int64
    public var branchId: Int
    public var branchCode: String
    public var clientId: Int64
    /// Null when the reader may not see the client (a functional department).
    public var clientNo: String?
    public var clientName: String?
    public var recordId: Int64?
    public var findingId: Int64?
    public var category: String
    public var severity: String
    public var description: String
    public var via: String
    public var state: ProblemState
    public var departmentId: Int?
    public var departmentCode: String?
    public var assigneeStaffId: Int64?
    public var raisedBy: Int64
    public var raisedAt: Date
    public var approvedBy: Int64?
    public var approvedAt: Date?
    public var returnReason: String?
    public var infoRequest: String?
    public var infoReply: String?
    public var resolution: String?
    public var rejectionReason: String?
    public var closedAt: Date?
    public var reopenedFrom: Int64?
    public var reopenReason: String?
    public var version: Int
    public var updatedAt: Date
    public var clock: ClockView?

    static func columns(now: Date) -> SQL {
        """
        p.id, p.branch_id, b.code, p.client_id, c.client_no, c.name, p.record_id, p.finding_id, p.category, p.severity,
        p.description, p.via, p.state, p.department_id, d.code, p.assignee_staff_id, p.raised_by, p.raised_at, p.approved_by,
        p.approved_at, p.return_reason, p.info_request, p.info_reply, p.resolution, p.rejection_reason, p.closed_at,
        p.reopened_from, p.reopen_reason, p.version, p.updated_at,
        """ + ClockView.columns(now: now)
    }

    static let joins: SQL = """
        join huifang.branches b on b.id = p.branch_id
        left join huifang.departments d on d.id = p.department_id
        left join huifang.clients c on c.branch_id = p.branch_id and c.id = p.client_id
        left join huifang.timers t on t.branch_id = p.branch_id and t.subject_kind = 'problem' and t.subject_id = p.id
                                  and t.clock = 'problem_loop'
        """

    init(row: Row) throws {
        id = try row.decode(0)
        branchId = try row.decode(1)
        branchCode = try row.decode(2)
        clientId = try row.decode(3)
        clientNo = try row.decode(4)
        clientName = try row.decode(5)
        recordId = try row.decode(6)
        findingId = try row.decode(7)
        category = try row.decode(8)
        severity = try row.decode(9)
        description = try row.decode(10)
        via = try row.decode(11)
        let stateText: String = try row.decode(12)
        guard let state = ProblemState(rawValue: stateText) else { throw StoreError.unexpected("problem state \(stateText)") }
        self.state = state
        departmentId = try row.decode(13)
        departmentCode = try row.decode(14)
        assigneeStaffId = try row.decode(15)
        raisedBy = try row.decode(16)
        raisedAt = try row.decode(17)
        approvedBy = try row.decode(18)
        approvedAt = try row.decode(19)
        returnReason = try row.decode(20)
        infoRequest = try row.decode(21)
        infoReply = try row.decode(22)
        resolution = try row.decode(23)
        rejectionReason = try row.decode(24)
        closedAt = try row.decode(25)
        reopenedFrom = try row.decode(26)
        reopenReason = try row.decode(27)
        version = try row.decode(28)
        updatedAt = try row.decode(29)
        clock = try ClockView(row: row, at: 30)
    }
}

public struct ForwardingView: Sendable {
    public var id: Int64
    public var branchId: Int
    public var problemId: Int64
    public var departmentId: Int
    public var departmentCode: String
    public var state: ForwardingState
    public var forwardedBy: Int64
    public var receivedAt: Date
    public var note: String?
    public var acknowledgedAt: Date?
    public var answer: String?
    public var answeredAt: Date?
    public var answeredBy: Int64?
    public var suggestion: String?
    public var reviewedAt: Date?
    public var reviewNote: String?
    public var version: Int
    /// The problem, for a functional department's queue: what it is about (never who the client is).
    public var category: String
    public var severity: String
    public var description: String
    public var clock: ClockView?

    static func columns(now: Date) -> SQL {
        """
        f.id, f.branch_id, f.problem_id, f.department_id, d.code, f.state, f.forwarded_by, f.received_at, f.note,
        f.acknowledged_at, f.answer, f.answered_at, f.answered_by, f.suggestion, f.reviewed_at, f.review_note, f.version,
        p.category, p.severity, p.description,
        """ + ClockView.columns(now: now)
    }

    static let joins: SQL = """
        join huifang.departments d on d.id = f.department_id
        join huifang.problems p on p.branch_id = f.branch_id and p.id = f.problem_id
        left join huifang.timers t on t.branch_id = f.branch_id and t.subject_kind = 'problem_forwarding' and t.subject_id = f.id
                                  and t.clock = 'forwarding_answer'
        """

    init(row: Row) throws {
        id = try row.decode(0)
        branchId = try row.decode(1)
        problemId = try row.decode(2)
        departmentId = try row.decode(3)
        departmentCode = try row.decode(4)
        let stateText: String = try row.decode(5)
        guard let state = ForwardingState(rawValue: stateText) else { throw StoreError.unexpected("forwarding state \(stateText)") }
        self.state = state
        forwardedBy = try row.decode(6)
        receivedAt = try row.decode(7)
        note = try row.decode(8)
        acknowledgedAt = try row.decode(9)
        answer = try row.decode(10)
        answeredAt = try row.decode(11)
        answeredBy = try row.decode(12)
        suggestion = try row.decode(13)
        reviewedAt = try row.decode(14)
        reviewNote = try row.decode(15)
        version = try row.decode(16)
        category = try row.decode(17)
        severity = try row.decode(18)
        description = try row.decode(19)
        clock = try ClockView(row: row, at: 20)
    }
}

public struct RelayView: Sendable {
    public var id: Int64
    public var recipient: String
    public var channel: String
    public var relayedAt: Date
    public var relayedBy: Int64
    public var note: String?
}

public struct ProblemEvent: Sendable {
    public var id: Int64
    public var at: Date
    public var actorStaffId: Int64?
    public var action: String
    public var fromState: String?
    public var toState: String?
    public var forwardingId: Int64?
    public var detail: JSONB
}
