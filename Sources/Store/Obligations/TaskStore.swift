import Domain
import Foundation
import Postgres

/// Callback tasks in the transaction's scope: the queues, and each step of a task's life. The
/// database refuses what breaks recusal or the state machine whatever the caller checked.
public struct TaskStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public struct Filter: Sendable {
        public var branchId: Int?
        public var assigneeStaffId: Int64?
        public var ruleCode: String?
        public var states: [TaskState]?
        public var directiveId: Int64?
        /// The call center's queue: tasks these departments execute, in every branch.
        public var executorDepartmentIds: [Int]?
        /// Only HQ-executed tasks.
        public var callCenterOnly = false
        public var clientId: Int64?
        /// Only tasks due before this instant (with `states` open ones: overdue).
        public var dueBefore: Date?
        public init() {}
    }

    /// Ordered by due time, then (branch, id); `after` is the cursor of the previous page's last task.
    public func list(
        _ filter: Filter, branches: [Int]?, after: (dueMicros: Int64, branch: Int, id: Int64)?, limit: Int
    ) async throws -> Page<CallbackTask> {
        var conditions: [SQL] = []
        if let executors = filter.executorDepartmentIds {
            // One department (the usual case) as an equality, so a page walks its (department, due) index in order.
            conditions.append(
                executors.count == 1 ? "t.executor_department_id = \(executors[0])" : "t.executor_department_id = any(\(executors))")
        } else if let branches {
            conditions.append("t.branch_id = any(\(branches))")
        }
        if let branch = filter.branchId { conditions.append("t.branch_id = \(branch)") }
        if filter.callCenterOnly { conditions.append("t.executor_department_id is not null") }
        if let staff = filter.assigneeStaffId { conditions.append("t.assignee_staff_id = \(staff)") }
        if let rule = filter.ruleCode { conditions.append("t.rule_code = \(rule)") }
        if let states = filter.states { conditions.append("t.state = any(\(states.map(\.rawValue)))") }
        if let directive = filter.directiveId { conditions.append("t.directive_id = \(directive)") }
        if let client = filter.clientId { conditions.append("t.client_id = \(client)") }
        if let due = filter.dueBefore { conditions.append("t.due_at < \(due)") }
        if let after {
            conditions.append(
                "(t.due_at, t.branch_id, t.id) > (" + .timestamp(microseconds: after.dueMicros) + ", \(after.branch), \(after.id))")
        }
        // Spelled out, not bound, so the planner can prove a partial index applies even to a generic
        // plan: a branch's open tasks (branch_id, due_at, id), every branch's open or closed ones by deadline.
        if let states = filter.states.map(Set.init) {
            if states.isSubset(of: [.open, .assigned, .inProgress]) {
                conditions.append("t.state in ('open', 'assigned', 'in_progress')")
            } else if states.isSubset(of: [.completed, .unreachable, .cancelled]) {
                conditions.append("t.state in ('completed', 'unreachable', 'cancelled')")
            }
        }
        let filtered = conditions.isEmpty ? SQL("true") : SQL.joined(conditions, separator: " and ")
        // A page walks a deadline index in order — every task's `(due_at, branch_id, id)`, or a
        // person's `(assignee_staff_id, due_at, …)` — and stops after `limit + 1` rows that pass.
        let query: SQL = "select " + CallbackTask.columns + " from (select * from huifang.callback_tasks t where " + filtered
            + ") t " + CallbackTask.joins + " order by t.due_at, t.branch_id, t.id limit \(limit + 1)"
        let tasks = try await connection.query(query).map(CallbackTask.init(row:))
        return Cursor.page(tasks, limit: limit) {
            Cursor.byDeadline($0.dueAt, $0.branchId, $0.id)
        }
    }

    /// One task; with `lock`, its row is locked for the rest of the transaction.
    public func get(_ id: Int64, branches: [Int]?, lock: Bool = false) async throws -> CallbackTask? {
        let query = "select " + CallbackTask.columns + " from huifang.callback_tasks t " + CallbackTask.joins
            + " where " + .branch("t.branch_id", in: branches) + " and t.id = \(id)" + (lock ? " for update of t" : "")
        return try await connection.query(query).first.map(CallbackTask.init(row:))
    }

    // Steps. Each moves a locked task along `TaskTransitions`; the caller has checked who acts.

    public func assign(_ task: CallbackTask, to staffId: Int64, by actor: Int64) async throws {
        try await connection.execute(
            """
            update huifang.callback_tasks
            set state = 'assigned', assignee_staff_id = \(staffId), assigned_at = now(), assigned_by = \(actor)
            where branch_id = \(task.branchId) and id = \(task.id)
            """)
    }

    public func start(_ task: CallbackTask) async throws {
        try await connection.execute(
            "update huifang.callback_tasks set state = 'in_progress', started_at = now() where branch_id = \(task.branchId) and id = \(task.id)")
    }

    /// Closes the task as unreachable or cancelled, with the reason.
    public func close(_ task: CallbackTask, as state: TaskState, by staffId: Int64, reason: String) async throws {
        precondition(state == .unreachable || state == .cancelled, "a task closes with a reason as unreachable or cancelled")
        try await connection.execute(
            """
            update huifang.callback_tasks set state = \(state.rawValue), closed_at = now(), closed_by = \(staffId), close_reason = \(reason)
            where branch_id = \(task.branchId) and id = \(task.id)
            """)
    }

    // Attempts

    public func logAttempt(
        _ task: CallbackTask, by staffId: Int64, at: Date, channel: String, outcome: String, note: String?
    ) async throws -> CallbackAttempt {
        let row = try await connection.query(
            """
            insert into huifang.callback_attempts (branch_id, task_id, attempted_at, channel, outcome, note, staff_id)
            values (\(task.branchId), \(task.id), \(at), \(channel), \(outcome), \(note), \(staffId))
            returning id
            """
        ).single()
        return CallbackAttempt(
            id: try row.decode(0), taskId: task.id, attemptedAt: at, channel: channel, outcome: outcome, note: note, staffId: staffId)
    }

    public func attempts(of task: CallbackTask) async throws -> [CallbackAttempt] {
        try await connection.query(
            """
            select id, task_id, attempted_at, channel, outcome, note, staff_id from huifang.callback_attempts
            where branch_id = \(task.branchId) and task_id = \(task.id) order by attempted_at, id
            """
        ).map { row in
            CallbackAttempt(
                id: try row.decode(0), taskId: try row.decode(1), attemptedAt: try row.decode(2), channel: try row.decode(3),
                outcome: try row.decode(4), note: try row.decode(5), staffId: try row.decode(6))
        }
    }
}
