import Domain
import Foundation
import Postgres
import Store

extension DemoData {
    /// Generates the year's obligations up to `today` and moves the tasks through every state, as
    /// people would have: assigned to someone other than the referrer, started, completed (mostly
    /// on time, some late), unreachable after three failed days, cancelled — and many left open, so
    /// some are overdue. Deterministic: which task goes where depends on its id only.
    public func loadTasks(into pool: Pool, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let today = self.today
        let lines = try await pool.transaction(settings: ObligationGenerator.settings) { db in
            try await ObligationGenerator(db).generate(.init(kind: .year, year: today.year, index: 1), today: today)
        }
        progress("generated \(lines.reduce(0) { $0 + $1.tasks }) callback tasks for \(today.year)")
        let moved = try await pool.transaction { db in
            try await db.query(
                """
                create temp table demo_plan on commit drop as
                select t.branch_id, t.id, t.due_at, t.clock_started_at, (t.id * 7919) % 100 as fate,
                       coalesce(
                           (select g.staff_id from huifang.role_grants g
                            where g.department_id = t.executor_department_id and g.role = 'call_center' and g.revoked_at is null
                            order by (g.staff_id * 31 + t.id) % 97 limit 1),
                           (select g.staff_id from huifang.role_grants g
                            where g.branch_id = t.branch_id and g.role in ('responsible_person', 'front_desk') and g.revoked_at is null
                              and g.staff_id is distinct from c.referrer_staff_id and g.staff_id is distinct from rb.staff_id
                            order by (g.staff_id * 31 + t.id) % 97 limit 1)) as assignee,
                       least(\(today)::timestamp at time zone 'Asia/Shanghai',
                             greatest(t.clock_started_at + interval '1 day', t.due_at - interval '2 days')) as done_at
                from huifang.callback_tasks t
                left join huifang.clients c on c.branch_id = t.branch_id and c.id = t.client_id
                left join huifang.brokers rb on rb.branch_id = c.branch_id and rb.id = c.referrer_broker_id
                where t.state = 'open' and t.clock_started_at < (\(today)::timestamp at time zone 'Asia/Shanghai')
                """)
            try await db.run(script: "create index on demo_plan (branch_id, id); analyze demo_plan")
            // fate: 0–44 completed (every ninth late), 45–49 unreachable, 50–51 cancelled, 52–61 in progress,
            // 62–71 assigned, the rest open.
            try await db.query(
                """
                update huifang.callback_tasks t set state = 'assigned', assignee_staff_id = p.assignee,
                       assigned_at = t.clock_started_at + interval '2 hours'
                from demo_plan p where t.branch_id = p.branch_id and t.id = p.id and p.fate < 72 and p.fate <> 50 and p.fate <> 51
                  and p.assignee is not null
                """)
            try await db.query(
                """
                update huifang.callback_tasks t set state = 'in_progress', started_at = t.assigned_at + interval '1 hour'
                from demo_plan p where t.branch_id = p.branch_id and t.id = p.id and p.fate < 62 and t.state = 'assigned'
                """)
            try await db.query(
                """
                insert into huifang.callback_attempts (branch_id, task_id, attempted_at, channel, outcome, staff_id, recorded_at)
                select p.branch_id, p.id, a.at, 'phone', (array['no_answer', 'busy', 'unavailable'])[d + 1], p.assignee,
                       a.at + interval '10 minutes'
                from demo_plan p cross join generate_series(0, 2) d
                join huifang.callback_tasks t on t.branch_id = p.branch_id and t.id = p.id and t.state = 'in_progress'
                cross join lateral (select t.clock_started_at + d * interval '1 day' + interval '1 hour' as at) a
                where p.fate between 45 and 49 and p.done_at >= t.clock_started_at + interval '2 days 2 hours'
                """)
            try await db.query(
                """
                update huifang.callback_tasks t set state = 'unreachable', closed_at = p.done_at, closed_by = p.assignee,
                       close_reason = 'no answer on three days; letter sent to the address on file'
                from demo_plan p where t.branch_id = p.branch_id and t.id = p.id and p.fate between 45 and 49 and t.state = 'in_progress'
                  and p.done_at >= t.clock_started_at + interval '2 days 2 hours'
                """)
            try await db.query(
                """
                update huifang.callback_tasks t set state = 'completed', closed_by = p.assignee,
                       closed_at = case when p.fate % 9 = 0 then t.due_at + interval '1 day' else p.done_at end,
                       outcome_note = 'client reached; details confirmed'
                from demo_plan p where t.branch_id = p.branch_id and t.id = p.id and p.fate < 45 and t.state = 'in_progress'
                  and (p.fate % 9 <> 0 or t.due_at + interval '1 day' < \(today)::timestamp at time zone 'Asia/Shanghai')
                """)
            try await db.query(
                """
                update huifang.callback_tasks t set state = 'cancelled', closed_at = p.done_at,
                       close_reason = case p.fate when 50 then 'client deceased' else 'client emigrated; account being closed' end
                from demo_plan p where t.branch_id = p.branch_id and t.id = p.id and p.fate in (50, 51)
                """)
            // Their clocks stopped when they were closed, not when this ran.
            try await db.query(
                """
                update huifang.timers t set stopped_at = c.closed_at
                from demo_plan p join huifang.callback_tasks c on c.branch_id = p.branch_id and c.id = p.id
                where t.branch_id = c.branch_id and t.subject_kind = 'callback_task' and t.subject_id = c.id
                  and t.stopped_at is not null and c.closed_at is not null
                """)
            return try await db.query(
                "select state, count(*)::int from huifang.callback_tasks group by state order by state"
            ).map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int.self))" }
        }
        progress("tasks by state: " + moved.joined(separator: ", "))
    }
}
