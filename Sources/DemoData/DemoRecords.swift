import Foundation
import Postgres

extension DemoData {
    /// Gives every completed demo task its signed record — most countersigned and archived, some
    /// waiting for the leader, a few returned — and the months' uploads to HQ, mostly on time, some
    /// late, a few missing. Records are written in bulk with the record triggers off (they check one
    /// signer per statement) but the one that keeps their keys (sql/0072); the signatures carry the
    /// same content digest the triggers would compute.
    public func loadRecords(into pool: Pool, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let today = self.today
        let counts = try await pool.transaction { db in
            try await db.run(script: """
                alter table huifang.records disable trigger user;
                alter table huifang.records enable trigger records_keep_keys;
                alter table huifang.record_signatures disable trigger user;
                """)
            try await db.query(
                """
                create temp table demo_records on commit drop as
                select t.branch_id, t.id as task_id, t.client_id, t.broker_id, t.directive_id, t.closed_by as performer, t.closed_at,
                       r.record_form as form_code, t.owner_department_id, t.executor_department_id,
                       -- A hash, not a multiple, so fates do not correlate with the tasks' own (id * 7919).
                       (hashint8(t.id)::bigint & 2147483647) % 100 as fate,
                       case when t.owner_department_id is not null then 'sales_trading_hq'
                            when r.record_form = 'service' then 'marketing_director' else 'ops_director' end as leader_role,
                       case when t.owner_department_id is not null then 'sales_trading_hq' else 'ops_director' end as archiver_role
                from huifang.callback_tasks t
                join huifang.obligation_rules r on r.code = t.rule_code and r.version = t.rule_version
                where t.state = 'completed' and t.record_id is null and t.closed_by is not null
                """)
            try await db.query("alter table demo_records add column leader bigint, add column archiver bigint")
            // The records' years (sql/0060), before their rows: else they would land in the default partition.
            try await db.query("select huifang.create_record_partitions((select min(closed_at) at time zone 'UTC' from demo_records)::date)")
            try await db.query(
                """
                update demo_records d set
                    leader = (select g.staff_id from huifang.role_grants g
                              where g.role = d.leader_role and g.revoked_at is null and g.staff_id <> d.performer
                                and (case when d.leader_role = 'sales_trading_hq' then g.department_id = d.owner_department_id
                                          else g.branch_id = d.branch_id end)
                              order by g.staff_id limit 1),
                    archiver = (select g.staff_id from huifang.role_grants g
                                where g.role = d.archiver_role and g.revoked_at is null
                                  and (case when d.archiver_role = 'sales_trading_hq' then g.department_id = d.owner_department_id
                                            else g.branch_id = d.branch_id end)
                                order by g.staff_id limit 1)
                """)
            let end = "('\(today)'::date::timestamp at time zone 'Asia/Shanghai')"
            try await db.query(
                """
                insert into huifang.records (
                    branch_id, form_code, form_version, task_id, client_id, broker_id, directive_id, performer_staff_id, leader_role,
                    archiver_role, hq_department_id, executor_department_id, answers, state, return_reason, created_at, updated_at,
                    submitted_at, countersigned_at, countersigned_by, archived_at, archived_by)
                select d.branch_id, d.form_code, 1, d.task_id, d.client_id, d.broker_id, d.directive_id, d.performer, d.leader_role,
                       d.archiver_role, d.owner_department_id, d.executor_department_id,
                       \(unescaped: Self.answersSQL(of: "d")),
                       s.state, case when s.state = 'returned' then '请补充通话录音编号 Add the call recording id' end,
                       d.closed_at, d.closed_at, case when s.state <> 'draft' then d.closed_at end,
                       case when s.state in ('countersigned', 'archived') then least(d.closed_at + interval '1 day', \(unescaped: end)) end,
                       case when s.state in ('countersigned', 'archived') then d.leader end,
                       case when s.state = 'archived' then least(d.closed_at + interval '3 days', \(unescaped: end)) end,
                       case when s.state = 'archived' then d.archiver end
                from demo_records d
                cross join lateral (select case
                    when d.leader is null or d.closed_at > \(unescaped: end) - interval '2 days' or d.fate between 90 and 95 then 'submitted'
                    when d.fate between 96 and 97 then 'returned'
                    when d.fate between 80 and 89 or d.archiver is null then 'countersigned'
                    else 'archived' end as state) s
                """)
            try await db.query(
                """
                update huifang.callback_tasks t set record_id = r.id, record_created_at = r.created_at
                from huifang.records r where r.branch_id = t.branch_id and r.task_id = t.id and t.record_id is null
                """)
            try await db.query(
                """
                insert into huifang.record_signatures (branch_id, record_id, record_created_at, step, signer_staff_id, signer_role, signed_at,
                                                       content_sha256)
                select r.branch_id, r.id, r.created_at, s.step, s.signer, s.role, s.at, huifang.record_content_hash(r)
                from demo_records d
                join huifang.records r on r.branch_id = d.branch_id and r.task_id = d.task_id
                cross join lateral (values
                    ('submit', r.performer_staff_id, 'performer', r.submitted_at),
                    ('countersign', r.countersigned_by, r.leader_role, r.countersigned_at),
                    ('archive', r.archived_by, r.archiver_role, r.archived_at)) s(step, signer, role, at)
                -- Only this load's records (never a probe of the table being filled: that is quadratic).
                where s.at is not null
                """)
            try await db.query(
                """
                insert into huifang.record_findings (branch_id, record_id, record_created_at, position, kind, text)
                select r.branch_id, r.id, r.created_at, (f.n - 1)::int, f.item ->> 'kind', f.item ->> 'text'
                from huifang.records r cross join lateral jsonb_array_elements(r.answers -> 'findings') with ordinality f(item, n)
                where r.state in ('submitted', 'countersigned', 'archived') and jsonb_typeof(r.answers -> 'findings') = 'array'
                on conflict do nothing
                """)
            try await db.run(script: """
                alter table huifang.records enable trigger user;
                alter table huifang.record_signatures enable trigger user;
                """)
            // Written with the triggers off: the people's monthly figures are counted again.
            try await db.query("select huifang.recount_person_month_figures()")
            return try await db.query("select state, count(*)::int from huifang.records group by state order by state").map {
                "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int.self))"
            }
        }
        progress("records by state: " + counts.joined(separator: ", "))
        let uploads = try await loadUploads(into: pool, today: today)
        progress("uploads: " + uploads.joined(separator: ", "))
    }

    /// The answers of a demo record as a SQL expression over `d` (columns form_code, fate 0–99,
    /// closed_at, directive_id): what a performer would have typed on each form, and one finding in
    /// ten records when `findings` is on.
    static func answersSQL(of d: String, findings: Bool = true) -> String {
        """
        jsonb_build_object(
            'method', (array['phone', 'phone', 'phone', 'visit', 'sms'])[1 + \(d).fate % 5],
            'contactedAt', to_char(\(d).closed_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
            'durationMinutes', 3 + \(d).fate % 12, 'personReached', 'client', 'identityConfirmed', true)
        || case \(d).form_code
             when 'new_account' then '{"riskDisclosureAcknowledged": true, "agreementsVerified": true}'::jsonb
             when 'existing_client' then '{"fieldsVerified": [], "agreementsVerified": true}'::jsonb
             when 'special' then jsonb_build_object('directiveAnswers', coalesce(
                 (select jsonb_object_agg(q ->> 'id', '已确认 confirmed') from huifang.directives x,
                         jsonb_array_elements(x.questions) q where x.id = \(d).directive_id), '{}'::jsonb))
             else jsonb_build_object('satisfaction', jsonb_build_object(
                 'research', 3 + \(d).fate % 3, 'staffAttitude', 4 + \(d).fate % 2, 'staffCompetence', 4,
                 'technicalSystems', 2 + \(d).fate % 4), 'productsPromoted', '["国债逆回购", "研究报告订阅"]'::jsonb)
           end
        || case when \(findings) and \(d).fate % 10 = 3 then jsonb_build_object('findings', jsonb_build_array(jsonb_build_object(
                 'kind', (array['problem', 'opinion', 'need'])[1 + \(d).fate % 3],
                 'text', (array['手机App登录偶尔失败 The app sometimes fails to log in',
                                '希望营业部延长服务时间 Wants longer branch opening hours',
                                '希望获得债券研究报告 Wants bond research reports'])[1 + \(d).fate % 3])))
                else '{}'::jsonb end
        """
    }

    /// Each month of the year so far opens its upload; earlier months are submitted by the ops
    /// director (a few late, a few never), last month's by some branches only.
    private func loadUploads(into pool: Pool, today: PostgresDate) async throws -> [String] {
        let months = (1..<today.month).map { String(format: "%04d-%02d", today.year, $0) }
        return try await pool.transaction { db in
            try await Self.openAndSubmitUploads(db, months: months)
            return try await db.query(
                """
                select case when u.state = 'pending' then 'pending/missing' when u.submitted_at <= t.due_at then 'on time' else 'late' end,
                       count(*)::int
                from huifang.record_uploads u
                join huifang.timers t on t.branch_id = u.branch_id and t.subject_kind = 'record_upload' and t.subject_id = u.id
                group by 1 order by 1
                """
            ).map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int.self))" }
        }
    }

    /// Opens the uploads of `months` and has each branch's ops director submit them (the upload's
    /// own triggers collect the records, route them and stop the clock): most two days before the
    /// deadline, one in eleven a day late, one in twenty-five never; of last month, a third so far.
    /// With `someMissing` off (history), every branch submits every month.
    static func openAndSubmitUploads(_ db: Connection, months: [String], someMissing: Bool = true) async throws {
        for month in months { try await db.query("select huifang.open_record_uploads(\(month))") }
        // A DO block takes no parameters: the months travel in transaction-local settings.
        try await db.query(
            """
            select set_config('huifang.demo_months', \(months.joined(separator: ",")), true),
                   set_config('huifang.demo_missing', \(someMissing ? "on" : "off"), true)
            """)
        try await db.query(
            """
            do $$
            declare
                u record;
            begin
                for u in
                    select x.branch_id, x.id, x.month, t.due_at,
                           (select min(g.staff_id) from huifang.role_grants g
                            where g.branch_id = x.branch_id and g.role = 'ops_director' and g.revoked_at is null) as ops
                    from huifang.record_uploads x
                    join huifang.timers t on t.branch_id = x.branch_id and t.subject_kind = 'record_upload' and t.subject_id = x.id
                    where x.state = 'pending' and x.month = any(string_to_array(current_setting('huifang.demo_months'), ','))
                      and (current_setting('huifang.demo_missing') = 'off' or (x.branch_id * 37 + ascii(right(x.month, 1))) % 100 >= 4)
                      and (x.month < to_char(now() - interval '1 month', 'YYYY-MM') or x.branch_id % 3 = 0)
                    order by x.month, x.branch_id
                loop
                    continue when u.ops is null;
                    perform set_config('huifang.staff_id', u.ops::text, true);
                    update huifang.record_uploads set state = 'submitted' where branch_id = u.branch_id and id = u.id;
                    update huifang.record_uploads
                    set submitted_at = u.due_at - case when (u.branch_id + u.id) % 11 = 0 then interval '-1 day' else interval '2 days' end
                    where branch_id = u.branch_id and id = u.id;
                    -- Its clock stopped when it was sent, not when this ran.
                    update huifang.timers t set stopped_at = x.submitted_at
                    from huifang.record_uploads x
                    where x.branch_id = u.branch_id and x.id = u.id
                      and t.branch_id = u.branch_id and t.subject_kind = 'record_upload' and t.subject_id = u.id;
                end loop;
            end
            $$
            """)
    }
}
