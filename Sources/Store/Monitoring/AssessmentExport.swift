import Foundation
import Postgres

/// The figures that feed performance assessment (Art 19), per branch, per department or per
/// person, for one month. Everything is judged as of the month's end — deadlines met by then,
/// work done by then — so re-running it for a closed month gives the same file.
public struct AssessmentExport: Sendable {
    public enum Unit: String, Sendable, CaseIterable {
        case branch, department, person
    }

    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public struct Table: Sendable, Equatable {
        public var header: [String]
        public var rows: [[String]]

        public var csv: String {
            ([header] + rows).map(CSVLine.render).joined(separator: "\n") + "\n"
        }
    }

    /// `month` is YYYY-MM; `branches` as the scope reaches (nil: every branch).
    public func table(_ unit: Unit, month: String, branches: [Int]?) async throws -> Table {
        // Bound as values, as the monitoring queries bound their months (MonitoringQueries.inMonth).
        let range = MonitoringQueries.monthRange(month)
        let bounds: SQL = "with bounds as (select \(range.start)::timestamptz as start_at, \(range.end)::timestamptz as end_at) "
        switch unit {
        case .branch:
            let rows = try await connection.query(
                bounds + """
                -- Callbacks due in the month, as of its end: on time only when called by the deadline and
                -- countersigned (Art 5, 12); unreachable was not a callback. One pass over the month's
                -- tasks of every branch in scope, not one per branch: a branch's tasks are found by
                -- deadline first, so a walk per branch read the whole month each time. A task's record
                -- is looked up only when the task is completed, in its own year's partition.
                , tasks as (
                    select k.branch_id,
                           count(*) filter (where k.state <> 'cancelled') as due,
                           count(*) filter (where k.state = 'completed' and k.closed_at <= k.due_at and k.countersigned_at < x.end_at)
                               as on_time,
                           count(*) filter (where k.state = 'completed' and k.closed_at < x.end_at
                                              and (k.countersigned_at is null or k.countersigned_at >= x.end_at)) as awaiting_signoff,
                           count(*) filter (where k.state = 'unreachable' and k.closed_at < x.end_at) as unreachable
                    from (
                        select t.branch_id, t.state, t.closed_at, t.due_at,
                               case when t.state = 'completed' then (
                                   select r.countersigned_at from huifang.records r
                                   where r.branch_id = t.branch_id and r.id = t.record_id and r.created_at = t.record_created_at
                               ) end as countersigned_at
                        from huifang.callback_tasks t
                        where
                """ + " " + .routed("t.branch_id", to: branches) + """
                          -- The month's bounds as values, not joined from `bounds`: joined, the planner
                          -- walked every task in branch order and filtered (1.2 M of 1.3 M, 1.4 s).
                          and t.due_at >= \(range.start)::timestamptz and t.due_at < \(range.end)::timestamptz
                    ) k cross join bounds x
                    group by k.branch_id
                )
                select b.code, b.name,
                       coalesce(c.due, 0), coalesce(c.on_time, 0), coalesce(c.awaiting_signoff, 0), coalesce(c.unreachable, 0),
                       coalesce(c.due - c.on_time - c.awaiting_signoff - c.unreachable, 0),
                       (select count(*) from huifang.record_signatures g where g.branch_id = b.id and g.step = 'countersign'
                          and g.signed_at >= x.start_at and g.signed_at < x.end_at),
                       (select count(*) from huifang.record_signatures g where g.branch_id = b.id and g.step = 'return'
                          and g.signed_at >= x.start_at and g.signed_at < x.end_at),
                       coalesce((select case when u.submitted_at is null or u.submitted_at >= x.end_at
                                               then (case when t.due_at < x.end_at then 'missing' else 'pending' end)
                                             when u.submitted_at <= t.due_at then 'on_time' else 'late' end
                                 from huifang.record_uploads u
                                 join huifang.timers t on t.branch_id = u.branch_id and t.subject_kind = 'record_upload' and t.subject_id = u.id
                                 where u.branch_id = b.id and u.month = to_char(to_date(\(month), 'YYYY-MM') - interval '1 month', 'YYYY-MM')),
                                'not_opened'),
                       (select count(*) from huifang.problems p where p.branch_id = b.id and p.raised_at >= x.start_at and p.raised_at < x.end_at),
                       -- A problem's loop clock stops in the statement that closes it, at its closing
                       -- instant (huifang.problems_after_update), so its clock alone tells whether it
                       -- closed in time; joined to each problem, the month's 72,000 loops cost 310 ms.
                       -- The clock is not named: the national key also has it, and the planner then
                       -- walked the whole month for each branch.
                       (select count(*) from huifang.timers t
                        where t.branch_id = b.id and t.subject_kind = 'problem' and t.stopped_at is not null
                          and t.due_at >= x.start_at and t.due_at < x.end_at and t.stopped_at <= t.due_at),
                       e.published, e.score
                from huifang.branches b cross join bounds x
                left join tasks c on c.branch_id = b.id
                -- Art 16: the month's year's evaluations of the branch published by the month's end, and
                -- their weighted score (each criterion's score ÷ its maximum, weighted), averaged.
                cross join lateral (
                    select count(*) as published,
                           to_char(round(avg(w.score), 2), 'FM990.00') as score
                    from huifang.evaluations v
                    cross join lateral (
                        select 100 * sum(sc.score / k.max_score * k.weight) / sum(k.weight) as score
                        from huifang.evaluation_scores sc join huifang.evaluation_criteria k on k.code = sc.criterion
                        where sc.branch_id = v.branch_id and sc.evaluation_id = v.id
                    ) w
                    where v.branch_id = b.id and v.state = 'published' and v.published_at < x.end_at
                      and v.year = extract(year from x.start_at at time zone 'Asia/Shanghai')
                ) e
                where
                """ + " " + .branch("b.id", in: branches) + " order by b.code")
            return Table(
                header: ["branch", "name", "callbacks_due", "callbacks_on_time", "callbacks_awaiting_signoff", "callbacks_unreachable",
                         "callbacks_late_or_missed", "records_countersigned", "records_returned", "previous_month_upload", "problems_raised",
                         "problems_due_closed_in_time", "evaluations_published", "evaluation_score"],
                rows: try rows.map { row in try (0..<14).map { try Self.text(row, $0) } })
        case .department:
            let rows = try await connection.query(
                bounds + """
                select d.code, d.kind,
                       (select count(*) from huifang.problem_forwardings f join huifang.timers t on t.branch_id = f.branch_id
                          and t.subject_kind = 'problem_forwarding' and t.subject_id = f.id
                          where f.department_id = d.id and t.due_at >= x.start_at and t.due_at < x.end_at
                            and
                """ + " " + .branch("f.branch_id", in: branches) + """
                       ),
                       (select count(*) from huifang.problem_forwardings f join huifang.timers t on t.branch_id = f.branch_id
                          and t.subject_kind = 'problem_forwarding' and t.subject_id = f.id
                          -- Answered, or sent back as not ours, by the deadline: a misroute has the same 2 days.
                          where f.department_id = d.id and t.due_at >= x.start_at and t.due_at < x.end_at and t.stopped_at <= t.due_at
                            and
                """ + " " + .branch("f.branch_id", in: branches) + """
                       ),
                       (select count(*) from huifang.problems p join huifang.timers t on t.branch_id = p.branch_id
                          and t.subject_kind = 'problem' and t.subject_id = p.id
                          where p.department_id = d.id and t.due_at >= x.start_at and t.due_at < x.end_at and
                """ + " " + .branch("p.branch_id", in: branches) + """
                       ),
                       (select count(*) from huifang.problems p join huifang.timers t on t.branch_id = p.branch_id
                          and t.subject_kind = 'problem' and t.subject_id = p.id
                          where p.department_id = d.id and t.due_at >= x.start_at and t.due_at < x.end_at and p.closed_at <= t.due_at and
                """ + " " + .branch("p.branch_id", in: branches) + """
                       )
                from huifang.departments d cross join bounds x
                where d.kind in ('functional', 'brokerage_ops_center', 'risk_control', 'sales_trading')
                order by d.code
                """)
            return Table(
                header: ["department", "kind", "forwardings_due", "forwardings_answered_in_time", "problems_due", "problems_closed_in_time"],
                rows: try rows.map { row in try (0..<6).map { try Self.text(row, $0) } })
        case .person:
            // Each table's rows of the month counted once per branch and person, then joined to the
            // people: four probes per person (3,500 of them nationally) read each branch's month again
            // for every one of its people.
            let inScope: SQL = .branch("b.id", in: branches)
            func monthOf(_ table: String, _ alias: String) -> SQL {
                "from huifang.branches b cross join bounds x join huifang.\(unescaped: table) \(unescaped: alias) on \(unescaped: alias).branch_id = b.id"
            }
            let rows = try await connection.query(
                bounds + """
                , people as (
                    select distinct b.id as branch_id, b.code, s.id as staff_id, s.employee_no, s.name
                    from huifang.branches b
                    join huifang.role_grants g on g.branch_id = b.id
                      and g.role in ('responsible_person', 'front_desk', 'ops_director', 'marketing_director')
                    join huifang.staff s on s.id = g.staff_id
                    where
                """ + " " + inScope + """
                ), done as (
                    select t.branch_id, t.closed_by as staff_id, count(*) as n, count(*) filter (where t.closed_at <= t.due_at) as on_time
                """ + " " + monthOf("callback_tasks", "t") + """
                      and t.state = 'completed' and t.closed_at >= x.start_at and t.closed_at < x.end_at
                    where
                """ + " " + inScope + """
                    group by 1, 2
                ), returned as (
                    select g.branch_id, r.performer_staff_id as staff_id, count(*) as n
                """ + " " + monthOf("record_signatures", "g") + """
                      and g.step = 'return' and g.signed_at >= x.start_at and g.signed_at < x.end_at
                    join huifang.records r on r.branch_id = g.branch_id and r.id = g.record_id and r.created_at = g.record_created_at
                    where
                """ + " " + inScope + """
                    group by 1, 2
                ), raised as (
                    select p.branch_id, p.raised_by as staff_id, count(*) as n
                """ + " " + monthOf("problems", "p") + """
                      and p.raised_at >= x.start_at and p.raised_at < x.end_at
                    where
                """ + " " + inScope + """
                    group by 1, 2
                )
                select e.code, e.employee_no, e.name, coalesce(d.n, 0), coalesce(d.on_time, 0), coalesce(r.n, 0), coalesce(q.n, 0)
                from people e
                left join done d on d.branch_id = e.branch_id and d.staff_id = e.staff_id
                left join returned r on r.branch_id = e.branch_id and r.staff_id = e.staff_id
                left join raised q on q.branch_id = e.branch_id and q.staff_id = e.staff_id
                order by e.code, e.employee_no
                """)
            return Table(
                header: ["branch", "employee_no", "name", "callbacks_done", "callbacks_on_time", "records_returned", "problems_raised"],
                rows: try rows.map { row in try (0..<7).map { try Self.text(row, $0) } })
        }
    }

    /// A figure as PostgreSQL prints it (a count, a score, a code); an absent one (no published
    /// evaluation to score) is empty. Read as text: trying each cell as a number first failed, and
    /// described the failure, for every text cell (10,500 of them in the national assessment by person).
    private static func text(_ row: Row, _ column: Int) throws -> String {
        try row.decode(column, as: String?.self) ?? ""
    }
}
