import Foundation
import Postgres
import Store

extension DemoData {
    /// The national benchmark's volumes on top of the demo (issue 9): at least this many records,
    /// open problems and running clocks. Each is topped up, so a database that already holds enough
    /// is left as it is and a second run adds nothing.
    public struct Volume: Sendable {
        public var records: Int
        public var openProblems: Int
        public var runningClocks: Int
        /// The years before the demo year the records are spread over.
        public var historyYears: Int

        public init(records: Int = 0, openProblems: Int = 0, runningClocks: Int = 0, historyYears: Int = 5) {
            self.records = records
            self.openProblems = openProblems
            self.runningClocks = runningClocks
            self.historyYears = historyYears
        }

        public var isEmpty: Bool { records <= 0 && openProblems <= 0 && runningClocks <= 0 }
    }

    /// Tops the data up to `volume`:
    /// - records: the branches' callback history of the years before the demo year (five unless
    ///   `historyYears` says otherwise), archived,
    ///   signed and uploaded month by month (each month's upload with its stopped clock, a few late);
    /// - open problems: raised over the last six weeks and standing in every open state (and a quarter
    ///   as many closed), with their 15-day clocks and, when forwarded, their 2-day forwardings' clocks;
    /// - running clocks: what is still missing after those, as an HQ special-callback campaign
    ///   (a directive through `DirectiveStore`, as S&T HQ would issue it) over the clients who
    ///   opened their accounts first, each callback task with its clock.
    /// Written in bulk as the owner with the workflow triggers off, in one transaction per year or
    /// batch, so progress shows and a failure loses one step only.
    public func loadVolume(
        _ volume: Volume, into pool: Pool, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws {
        let records: Int = try await pool.query("select count(*)::int from huifang.records").single().decode(0)
        if volume.records > records {
            try await loadHistory(records: volume.records - records, years: volume.historyYears, into: pool, progress: progress)
        }
        let open: Int = try await pool.query("select count(*)::int from huifang.problems where state <> 'closed'").single().decode(0)
        if volume.openProblems > open {
            try await loadOpenProblems(volume.openProblems - open, into: pool, progress: progress)
        }
        let running: Int = try await pool.query("select count(*)::int from huifang.timers where stopped_at is null").single().decode(0)
        if volume.runningClocks > running {
            try await loadCampaign(clients: volume.runningClocks - running, into: pool, progress: progress)
        }
        // History and problems were written with the triggers off: the people's monthly figures and the
        // problems' kept counts are counted again (the clocks' triggers stayed on).
        try await pool.query("select huifang.recount_person_month_figures()")
        try await pool.query("select huifang.recount_problem_state_totals()")
        // Bulk writes leave the visibility map unset: vacuum, so index-only scans work from the start.
        try await pool.withConnection { try await $0.run(script: "vacuum analyze") }
    }

    /// Each active branch with who acts in the bulk writes: its responsible persons (in id order) and
    /// its first ops director and marketing director.
    static let branchPeopleSQL = """
        select b.id as branch_id,
               (select array_agg(g.staff_id order by g.staff_id) from huifang.role_grants g
                where g.branch_id = b.id and g.role = 'responsible_person' and g.revoked_at is null) as responsible,
               (select min(g.staff_id) from huifang.role_grants g
                where g.branch_id = b.id and g.role = 'ops_director' and g.revoked_at is null) as ops,
               (select min(g.staff_id) from huifang.role_grants g
                where g.branch_id = b.id and g.role = 'marketing_director' and g.revoked_at is null) as marketing
        from huifang.branches b where b.status = 'active'
        """

    /// Callback history: `records` archived records spread evenly over the branches and the months
    /// of the `years` years before the demo year, on clients already open then, performed by a responsible person
    /// who did not introduce the client, countersigned and archived, and uploaded month by month.
    func loadHistory(records: Int, years historyYears: Int, into pool: Pool, progress: @escaping @Sendable (String) -> Void) async throws {
        let branchCount: Int = try await pool.query("select count(*)::int from huifang.branches where status = 'active'").single().decode(0)
        guard branchCount > 0 else { return }
        let years = (today.year - historyYears)..<today.year
        let perSlot = Int((Double(records) / Double(branchCount * 12 * years.count)).rounded(.up))
        let clock = ContinuousClock.now
        // The records' years (sql/0060), before their rows: else they would land in the default partition.
        try await pool.query("select huifang.create_record_partitions(make_date(\(years.lowerBound), 1, 1))")
        for year in years {
            let months = (1...12).map { String(format: "%04d-%02d", year, $0) }
            let loaded = try await pool.transaction { db -> Int in
                try await db.run(script: """
                    alter table huifang.records disable trigger user;
                    alter table huifang.records enable trigger records_keep_keys;
                    alter table huifang.record_signatures disable trigger user;
                    """)
                try await db.query(
                    """
                    create temp table demo_history_clients on commit drop as
                    select branch_id, id, referrer_staff_id, opened_at,
                           row_number() over (partition by branch_id order by opened_at, id)::int as rn
                    from huifang.clients
                    where opened_at < make_date(\(year + 1), 1, 1)::timestamp at time zone 'Asia/Shanghai'
                      and (closed_at is null or closed_at >= make_date(\(year), 1, 1)::timestamp at time zone 'Asia/Shanghai')
                    """)
                try await db.run(script: """
                    create index on demo_history_clients (branch_id, rn);
                    create index on demo_history_clients (branch_id, opened_at);
                    analyze demo_history_clients;
                    """)
                // Each (branch, month): who signs, and how many clients had opened by the month's start.
                try await db.query(
                    """
                    create temp table demo_history_slots on commit drop as
                    select s.*, m.month_start, k.eligible
                    from (\(unescaped: Self.branchPeopleSQL)) s
                    cross join lateral (select make_date(\(year), n, 1)::timestamp at time zone 'Asia/Shanghai' as month_start
                                        from generate_series(1, 12) n) m
                    cross join lateral (select count(*)::int as eligible from demo_history_clients c
                                        where c.branch_id = s.branch_id and c.opened_at < m.month_start) k
                    where k.eligible > 0 and s.ops is not null and s.marketing is not null and cardinality(s.responsible) >= 2
                    """)
                // One statement inserts the records and signs them: the signatures come from the rows
                // just written, so nothing probes the tables being filled.
                let loaded: Int = try await db.query(
                    """
                    with history as (
                        select s.branch_id, s.ops, s.marketing, c.id as client_id, h.fate, h.form_code,
                               case when s.responsible[1 + h.h % cardinality(s.responsible)] = c.referrer_staff_id
                                    then s.responsible[1 + (h.h + 1) % cardinality(s.responsible)]
                                    else s.responsible[1 + h.h % cardinality(s.responsible)] end as performer,
                               -- A working hour of the month's first 24 days, weekends moved to the Friday before.
                               x.at - case extract(isodow from x.at at time zone 'Asia/Shanghai')
                                        when 6 then interval '1 day' when 7 then interval '2 days' else interval '0' end as closed_at,
                               null::bigint as directive_id
                        from demo_history_slots s
                        cross join generate_series(1, \(perSlot)) n
                        cross join lateral (select (hashint8(s.branch_id * 1000003 + extract(epoch from s.month_start)::bigint + n)::bigint
                                                    & 2147483647) as h) hh
                        cross join lateral (select hh.h, hh.h % 100 as fate,
                                                   case when hh.h % 10 < 7 then 'service' else 'existing_client' end as form_code) h
                        join demo_history_clients c on c.branch_id = s.branch_id and c.rn = 1 + h.h % s.eligible
                        cross join lateral (select s.month_start + interval '1 day' * (h.h % 24) + interval '1 hour' * (9 + h.h % 8) as at) x
                    ), written as (
                        insert into huifang.records (
                            branch_id, form_code, form_version, client_id, performer_staff_id, leader_role, archiver_role, answers, state,
                            created_at, updated_at, submitted_at, countersigned_at, countersigned_by, archived_at, archived_by)
                        select d.branch_id, d.form_code, 1, d.client_id, d.performer,
                               case d.form_code when 'service' then 'marketing_director' else 'ops_director' end, 'ops_director',
                               \(unescaped: Self.answersSQL(of: "d", findings: false)), 'archived',
                               d.closed_at, d.closed_at + interval '3 days', d.closed_at, d.closed_at + interval '1 day',
                               case d.form_code when 'service' then d.marketing else d.ops end, d.closed_at + interval '3 days', d.ops
                        from history d
                        returning *
                    ), signed as (
                        insert into huifang.record_signatures (branch_id, record_id, record_created_at, step, signer_staff_id, signer_role,
                                                               signed_at, content_sha256)
                        select r.branch_id, r.id, r.created_at, s.step, s.signer, s.role, s.at, h.digest
                        from written r
                        cross join lateral (select huifang.record_content_hash(row(r.*)::huifang.records) as digest) h
                        cross join lateral (values
                            ('submit', r.performer_staff_id, 'performer', r.submitted_at),
                            ('countersign', r.countersigned_by, r.leader_role, r.countersigned_at),
                            ('archive', r.archived_by, r.archiver_role, r.archived_at)) s(step, signer, role, at)
                        returning 1
                    )
                    select (select count(*) from written)::int, (select count(*) from signed)::int
                    """
                ).single().decode(0, as: Int.self)
                // The rules hold again for everything written after the history (they stayed off before).
                try await db.run(script: """
                    alter table huifang.records enable trigger user;
                    alter table huifang.record_signatures enable trigger user;
                    """)
                return loaded
            }
            // The month's upload carries them, through the upload's own triggers.
            try await pool.transaction { db in try await Self.openAndSubmitUploads(db, months: months, someMissing: false) }
            let elapsed = ContinuousClock.now - clock
            progress(String(format: "history %d: %d records, uploaded (%.0f s)", year, loaded, Double(elapsed.components.seconds)))
        }
    }

    /// `count` open problems raised over the last six weeks, standalone (from a call or a visit), in
    /// every open state with the columns their steps would have set: waiting for the branch leader,
    /// returned, at HQ, in triage, waiting for information, forwarded (received, acknowledged or
    /// answered by a functional department), answered or rejected and waiting for the relay — and a
    /// quarter as many closed (answered, relayed to the client), some after their 15 working days.
    /// Each has its 15-working-day clock and its timeline; each forwarding its 2-working-day clock.
    func loadOpenProblems(_ count: Int, into pool: Pool, progress: @escaping @Sendable (String) -> Void) async throws {
        let clock = ContinuousClock.now
        let states = try await pool.transaction { db in
            try await db.run(script: """
                alter table huifang.problems disable trigger user;
                alter table huifang.problem_forwardings disable trigger user;
                alter table huifang.problem_relays disable trigger user;
                """)
            try await db.query(
                """
                create temp table demo_problem_branches on commit drop as
                select p.*, row_number() over (order by p.branch_id)::int as rn,
                       (select count(*)::int from huifang.clients c where c.branch_id = p.branch_id and c.status = 'open') as clients
                from (\(unescaped: Self.branchPeopleSQL)) p
                """)
            try await db.query(
                """
                delete from demo_problem_branches where clients = 0 or responsible is null or ops is null or marketing is null;
                """)
            try await db.query(
                """
                create temp table demo_problem_clients on commit drop as
                select branch_id, id, row_number() over (partition by branch_id order by id)::int as rn
                from huifang.clients where status = 'open'
                """)
            try await db.run(script: "create index on demo_problem_clients (branch_id, rn); analyze demo_problem_clients")
            // The HQ department of each route, its first triage person, and the functional departments.
            try await db.query(
                """
                create temp table demo_problem_routes on commit drop as
                select r.category, r.via, d.id as department_id,
                       (select min(g.staff_id) from huifang.role_grants g where g.department_id = d.id and g.revoked_at is null) as triage
                from huifang.problem_routes r
                join lateral (select min(id) as id from huifang.departments where kind = r.department_kind and status = 'active') d on true
                where d.id is not null
                """)
            try await db.query(
                """
                create temp table demo_functional on commit drop as
                select d.id as department_id, row_number() over (order by d.id)::int as rn,
                       (select min(g.staff_id) from huifang.role_grants g where g.department_id = d.id and g.revoked_at is null) as staff
                from huifang.departments d where d.kind = 'functional' and d.status = 'active'
                """)
            // Someone must be there to triage and to answer; the demo organization always has them.
            try await db.run(script: """
                delete from demo_problem_routes where triage is null;
                delete from demo_functional where staff is null;
                """)
            let ready = try await db.query(
                """
                select exists (select from demo_problem_branches), exists (select from demo_functional),
                       (select count(distinct (category, via)) from demo_problem_routes) = 14
                """
            ).single()
            guard try ready.decode(0, as: Bool.self), try ready.decode(1, as: Bool.self), try ready.decode(2, as: Bool.self) else {
                throw DemoDataError(needs:
                    "branches with staff and clients, a staffed HQ department for every problem route and a staffed functional department")
            }
            try await db.query(
                """
                create temp table demo_open_problems on commit drop as
                select nextval(pg_get_serial_sequence('huifang.problems', 'id')) as id, b.branch_id, c.id as client_id, x.h,
                       x.h % 100 as fate, r.category, r.via, r.department_id, r.triage,
                       b.responsible[1 + x.h % cardinality(b.responsible)] as raiser,
                       case r.via when 'service' then b.marketing else b.ops end as leader,
                       now() - interval '1 minute' * (x.h % (42 * 24 * 60)) as raised_at,
                       -- Approved two hours after, the last step an hour later: never in the future.
                       least(now(), now() - interval '1 minute' * (x.h % (42 * 24 * 60)) + interval '2 hours') as approved_at,
                       least(now(), now() - interval '1 minute' * (x.h % (42 * 24 * 60)) + interval '3 hours') as stepped_at,
                       least(now(), now() - interval '1 minute' * (x.h % (42 * 24 * 60)) + interval '3 hours'
                                    + interval '1 day' * (x.h % 4) + interval '1 hour') as answered_at,
                       -- Closed (relayed to the client) 3 to 22 days after it was raised, after the answer.
                       least(now(), greatest(now() - interval '1 minute' * (x.h % (42 * 24 * 60)) + interval '1 day' * (3 + x.h % 20),
                                             now() - interval '1 minute' * (x.h % (42 * 24 * 60)) + interval '3 hours'
                                                 + interval '1 day' * (x.h % 4) + interval '2 hours')) as closed_at,
                       f.department_id as functional_id, f.staff as functional_staff,
                       case when n > \(count) then 'closed'
                            when x.h % 100 < 10 then 'raised' when x.h % 100 < 13 then 'returned' when x.h % 100 < 28 then 'at_hq'
                            when x.h % 100 < 43 then 'in_triage' when x.h % 100 < 48 then 'info_requested'
                            when x.h % 100 < 83 then 'forwarded' when x.h % 100 < 95 then 'answered' else 'rejected' end as state
                from generate_series(1, \(count + count / 4)) n
                cross join lateral (select (hashint8(n::bigint * 7919 + \(Int64(seed % 1_000_000)))::bigint & 2147483647) as h) x
                join demo_problem_branches b on b.rn = 1 + x.h % (select count(*) from demo_problem_branches)
                join demo_problem_clients c on c.branch_id = b.branch_id and c.rn = 1 + (x.h / 7) % b.clients
                join demo_problem_routes r on r.category = (array['client_complaint', 'service_need', 'product_need', 'system_issue',
                                                                  'compliance_risk', 'data_error', 'other'])[1 + (x.h / 3) % 7]
                                          and r.via = case when x.h % 3 = 0 then 'service' else 'compliance' end
                join demo_functional f on f.rn = 1 + (x.h / 11) % (select count(*) from demo_functional)
                """)
            try await db.run(script: "create index on demo_open_problems (branch_id, id); analyze demo_open_problems")
            try await db.query(
                """
                insert into huifang.problems (
                    branch_id, id, client_id, category, severity, description, raised_by, raised_at, state, via, department_id,
                    assignee_staff_id, approved_by, approved_at, return_reason, info_request, resolution, rejection_reason,
                    last_action, updated_at, closed_at)
                overriding system value
                select p.branch_id, p.id, p.client_id, p.category, (array['low', 'medium', 'medium', 'high'])[1 + p.h % 4],
                       (array['客户反映App行情刷新延迟 The app''s quotes lag', '客户询问两融业务开通条件 Asks how to open margin trading',
                              '对账单地址有误 The statement address is wrong',
                              '希望增加线上开户指引 Wants an online account-opening guide'])[1 + p.h % 4],
                       p.raiser, p.raised_at, p.state, p.via,
                       case when p.state not in ('raised', 'returned') then p.department_id end,
                       case when p.state in ('in_triage', 'info_requested', 'forwarded', 'answered', 'rejected', 'closed') then p.triage end,
                       case when p.state not in ('raised', 'returned') then p.leader end,
                       case when p.state not in ('raised', 'returned') then p.approved_at end,
                       case when p.state = 'returned' then '请补充客户的具体诉求 Add what exactly the client asked for' end,
                       case when p.state = 'info_requested' then '请提供客户的交易截图 Send the client''s trade screenshot' end,
                       case when p.state in ('answered', 'closed') then '已核实并处理 Checked and handled' end,
                       case when p.state = 'rejected' then '不属于客户问题 Not a client problem' end,
                       case p.state when 'raised' then 'raise' when 'returned' then 'return' when 'at_hq' then 'approve'
                                    when 'in_triage' then 'claim' when 'info_requested' then 'request_info' when 'forwarded' then 'forward'
                                    when 'answered' then 'accept' when 'closed' then 'relay_client' else 'reject' end,
                       case when p.state = 'closed' then p.closed_at else p.stepped_at end,
                       case when p.state = 'closed' then p.closed_at end
                from demo_open_problems p
                """)
            // The timeline of the steps each took.
            try await db.query(
                """
                insert into huifang.problem_events (branch_id, problem_id, at, actor_staff_id, action, from_state, to_state)
                select p.branch_id, p.id, s.at, s.actor, s.action, s.from_state, s.to_state
                from demo_open_problems p
                cross join lateral (values
                    (p.raised_at, p.raiser, 'raise', null, 'raised', true),
                    (p.approved_at, p.leader, 'return', 'raised', 'returned', p.state = 'returned'),
                    (p.approved_at, p.leader, 'approve', 'raised', 'at_hq', p.state not in ('raised', 'returned')),
                    (p.stepped_at, p.triage, 'claim', 'at_hq', 'in_triage', p.state not in ('raised', 'returned', 'at_hq')),
                    (p.stepped_at, p.triage, 'request_info', 'in_triage', 'info_requested', p.state = 'info_requested'),
                    (p.stepped_at, p.triage, 'reject', 'in_triage', 'rejected', p.state = 'rejected'),
                    (p.stepped_at, p.triage, 'forward', 'in_triage', 'forwarded', p.state in ('forwarded', 'answered', 'closed')),
                    (p.answered_at, p.triage, 'accept', 'forwarded', 'answered', p.state in ('answered', 'closed')),
                    (p.closed_at, p.triage, 'relay_client', 'answered', 'closed', p.state = 'closed')
                ) s(at, actor, action, from_state, to_state, taken)
                where s.taken
                """)
            try await db.query(
                """
                insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to,
                                            state, stopped_at, stop_reason)
                select p.branch_id, 'problem', p.id, 'problem_loop', p.raised_at, 15, 'Problem ' || p.id || ': final feedback to the client',
                       jsonb_build_array(jsonb_build_object('role', 'responsible_person', 'branchId', p.branch_id)),
                       -- Escalated as the workflow would: to the branch manager until approved, then to the HQ department.
                       jsonb_build_array(case when p.state in ('raised', 'returned')
                                              then jsonb_build_object('role', 'branch_manager', 'branchId', p.branch_id)
                                              else jsonb_build_object('role', huifang.triage_role(p.department_id), 'departmentId', p.department_id) end,
                                         jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                                             (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active'))),
                       case when p.state = 'closed' then 'stopped' else 'running' end, case when p.state = 'closed' then p.closed_at end,
                       case when p.state = 'closed' then 'relayed to the client' end
                from demo_open_problems p
                """)
            // The closed ones were relayed to the branch leader, the responsible person and the client.
            try await db.query(
                """
                insert into huifang.problem_relays (branch_id, problem_id, recipient, channel, relayed_at, relayed_by)
                select p.branch_id, p.id, r.recipient, r.channel, p.closed_at - r.before, p.triage
                from demo_open_problems p
                cross join (values ('branch_leader', 'system', interval '2 hours'), ('responsible_person', 'system', interval '1 hour'),
                                   ('client', 'phone', interval '0')) r(recipient, channel, before)
                where p.state = 'closed'
                """)
            // Forwarded problems: received (fate 48–62), acknowledged (63–72) or answered (73–82) by a
            // functional department; answered problems: the answer accepted. Answers take 0–3 days.
            try await db.query(
                """
                with forwarded as (
                    select p.*, p.stepped_at as received_at,
                           case when p.state in ('answered', 'closed') then 'accepted' when p.fate < 63 then 'received'
                                when p.fate < 73 then 'acknowledged' else 'answered' end as forwarding_state
                    from demo_open_problems p where p.state in ('forwarded', 'answered', 'closed')
                ), written as (
                    insert into huifang.problem_forwardings (
                        branch_id, problem_id, department_id, forwarded_by, received_at, state, acknowledged_at, acknowledged_by,
                        answer, answered_at, answered_by, reviewed_at, reviewed_by)
                    select f.branch_id, f.id, f.functional_id, f.triage, f.received_at, f.forwarding_state,
                           case when f.forwarding_state <> 'received' then least(now(), f.received_at + interval '10 minutes') end,
                           case when f.forwarding_state <> 'received' then f.functional_staff end,
                           case when f.forwarding_state in ('answered', 'accepted') then '已核实并处理 Checked and handled' end,
                           case when f.forwarding_state in ('answered', 'accepted') then f.answered_at end,
                           case when f.forwarding_state in ('answered', 'accepted') then f.functional_staff end,
                           case when f.forwarding_state = 'accepted' then f.answered_at end,
                           case when f.forwarding_state = 'accepted' then f.triage end
                    from forwarded f
                    returning branch_id, id, problem_id, department_id, received_at, answered_at,
                              (select p.department_id from demo_open_problems p where p.branch_id = problem_forwardings.branch_id
                               and p.id = problem_forwardings.problem_id) as hq_department_id
                )
                insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to,
                                            state, stopped_at, stop_reason)
                select w.branch_id, 'problem_forwarding', w.id, 'forwarding_answer', w.received_at, 2,
                       'Problem ' || w.problem_id || ': answer the forwarded problem',
                       jsonb_build_array(jsonb_build_object('role', 'functional_dept', 'departmentId', w.department_id)),
                       jsonb_build_array(jsonb_build_object('role', huifang.triage_role(w.hq_department_id), 'departmentId', w.hq_department_id),
                                         jsonb_build_object('role', 'brokerage_ops_center', 'departmentId',
                                             (select min(id) from huifang.departments where kind = 'brokerage_ops_center' and status = 'active'))),
                       case when w.answered_at is null then 'running' else 'stopped' end, w.answered_at,
                       case when w.answered_at is not null then 'answered' end
                from written w
                """)
            try await db.run(script: """
                select setval(pg_get_serial_sequence('huifang.problems', 'id'), (select max(id) from huifang.problems));
                alter table huifang.problems enable trigger user;
                alter table huifang.problem_forwardings enable trigger user;
                alter table huifang.problem_relays enable trigger user;
                """)
            return try await db.query(
                "select state, count(*)::int from huifang.problems group by state order by state"
            ).map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int.self))" }
        }
        let elapsed = ContinuousClock.now - clock
        progress("problems by state: " + states.joined(separator: ", ") + " (\(elapsed.components.seconds) s)")
    }

    /// A special-callback campaign by S&T HQ over the `clients` clients who opened their accounts
    /// first, carried out by their branches within 20 working days: a directive issued through
    /// `DirectiveStore` (the same code as `POST /directives`), one task and one clock per client.
    func loadCampaign(clients: Int, into pool: Pool, progress: @escaping @Sendable (String) -> Void) async throws {
        let today = self.today
        let issued = try await pool.transaction { db -> (Int64, Int)? in
            let row = try await db.query(
                """
                select (select id from huifang.departments where kind = 'sales_trading' and status = 'active' order by id limit 1),
                       (select g.staff_id from huifang.role_grants g join huifang.departments d on d.id = g.department_id
                        where d.kind = 'sales_trading' and g.role = 'sales_trading_hq' and g.revoked_at is null order by g.staff_id limit 1),
                       (select opened_at from huifang.clients where status = 'open' order by opened_at, id offset \(clients) limit 1),
                       (huifang.workday_deadline('cn_workday', \(today)::timestamp at time zone 'Asia/Shanghai', 20) at time zone 'Asia/Shanghai')::date
                """
            ).single()
            guard let department: Int = try row.decode(0), let issuer: Int64 = try row.decode(1) else { return nil }
            var filter = DirectiveStore.Filter()
            filter.openedTo = try row.decode(2)
            let input = DirectiveStore.Input(
                departmentId: department, title: "老客户适当性信息复核 Suitability re-check of long-standing clients",
                purpose: "核实长期客户的风险承受能力与联系方式 Confirm risk tolerance and contact details of long-standing clients",
                questions: try JSONB(encoding: [["id": "q1", "text": "风险承受能力是否有变化？ Has your risk tolerance changed?"],
                                                ["id": "q2", "text": "联系方式是否有效？ Are your contact details current?"]]),
                target: .filter(filter), executor: "branch", dueOn: try row.decode(3), today: today)
            return try await DirectiveStore(db).issue(input, createdBy: issuer)
        }
        if let issued {
            progress("campaign: directive \(issued.0) with \(issued.1) open callbacks, each on its clock")
        }
    }
}
