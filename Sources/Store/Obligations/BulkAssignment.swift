import Domain
import Foundation
import Postgres

/// A director hands out a branch's tasks at once: earliest due first, each to the eligible person
/// with the fewest open tasks. Anyone who ever referred the client is skipped for that task (Art 4) — the task
/// goes to the next person, or is reported as skipped when nobody else can take it; the batch never
/// fails for one recused pair.
public struct BulkAssignment: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public struct Outcome: Sendable {
        public var assigned: [(taskId: Int64, staffId: Int64)] = []
        public var skipped: [(taskId: Int64, reason: String)] = []
    }

    /// `taskIds` nil: every open task of the branch (of `ruleCode` when given) the actor owns.
    /// `staffIds` nil: every active person of the branch who may perform callbacks.
    public func run(
        branchId: Int, taskIds: [Int64]?, ruleCode: String?, staffIds: [Int64]?, actor: Int64, grants: [RoleGrant]
    ) async throws -> Outcome {
        var taskFilter: SQL = taskIds.map { "t.id = any(\($0))" } ?? "t.state = 'open'"
        if let ruleCode { taskFilter = taskFilter + " and t.rule_code = \(ruleCode)" }
        let tasks = try await connection.query(
            """
            select t.id, t.state, t.owner_role,
                   array_remove(array[bb.staff_id], null)::bigint[] || coalesce((
                       select array_agg(x) from huifang.client_referrers r,
                                               unnest(array[r.referrer_staff_id, r.broker_staff_id]) as x
                       where r.branch_id = t.branch_id and r.client_id = t.client_id and x is not null), '{}')
            from huifang.callback_tasks t
            left join huifang.brokers bb on bb.branch_id = t.branch_id and bb.id = t.broker_id
            where t.branch_id = \(branchId) and t.executor_department_id is null and
            """ + " " + taskFilter + " order by t.due_at, t.id for update of t")
        var staffFilter: SQL = "true"
        if let staffIds { staffFilter = "s.id = any(\(staffIds))" }
        var candidates = try await connection.query(
            """
            select s.id,
                   (select count(*)::int from huifang.callback_tasks t
                    where t.branch_id = \(branchId) and t.assignee_staff_id = s.id and t.state in ('assigned', 'in_progress'))
            from huifang.staff s
            where s.status = 'active' and
            """ + " " + staffFilter + """
               and exists (select from huifang.role_grants g
                          where g.staff_id = s.id and g.branch_id = \(branchId) and g.revoked_at is null
                            and g.role in ('responsible_person', 'front_desk', 'ops_director', 'marketing_director'))
            order by s.id
            """
        ).map { (id: try $0.decode(0, as: Int64.self), load: try $0.decode(1, as: Int.self)) }

        var outcome = Outcome()
        let found = Set(try tasks.map { try $0.decode(0, as: Int64.self) })
        for missing in (taskIds ?? []).filter({ !found.contains($0) }) {
            outcome.skipped.append((missing, "no such task in this branch"))
        }
        if let staffIds {
            let eligible = Set(candidates.map(\.id))
            if let stranger = staffIds.first(where: { !eligible.contains($0) }) {
                throw BulkAssignmentError.notEligible(stranger)
            }
        }
        for row in tasks {
            let id: Int64 = try row.decode(0)
            let state = TaskState(rawValue: try row.decode(1)) ?? .open
            let ownerRole: String = try row.decode(2)
            let recused = Set(try row.decode(3, as: [Int64].self))
            guard TaskTransitions.next(from: state, .assign) != nil else {
                outcome.skipped.append((id, "the task is \(state.rawValue)"))
                continue
            }
            guard TaskAuthority.canManage(
                ownerRole: ownerRole, branchId: branchId, ownerDepartmentId: nil, executorDepartmentId: nil, grants: grants)
            else {
                outcome.skipped.append((id, "only the branch's \(ownerRole) assigns this task"))
                continue
            }
            let choice = candidates.indices.filter { !recused.contains(candidates[$0].id) }
                .min { (candidates[$0].load, candidates[$0].id) < (candidates[$1].load, candidates[$1].id) }
            guard let choice else {
                outcome.skipped.append((id, candidates.isEmpty
                    ? "nobody in the branch can perform callbacks"
                    : "recusal (Art 4): every candidate introduced this client"))
                continue
            }
            candidates[choice].load += 1
            outcome.assigned.append((id, candidates[choice].id))
        }
        if !outcome.assigned.isEmpty {
            try await connection.execute(
                """
                update huifang.callback_tasks t
                set state = 'assigned', assignee_staff_id = a.staff_id, assigned_at = now(), assigned_by = \(actor)
                from unnest(\(outcome.assigned.map(\.taskId))::bigint[], \(outcome.assigned.map(\.staffId))::bigint[]) as a (task_id, staff_id)
                where t.branch_id = \(branchId) and t.id = a.task_id
                """)
        }
        return outcome
    }
}

public enum BulkAssignmentError: Error, CustomStringConvertible, Equatable {
    case notEligible(Int64)
    public var description: String {
        switch self {
        case .notEligible(let staff): "staff \(staff) is not an active person of the branch who may perform callbacks"
        }
    }
}
