import Foundation
import Postgres

extension DemoData {
    /// Raises findings of the demo records as problems and walks them, step by step through the
    /// workflow's own triggers, into every state: waiting for approval, returned, unclaimed at HQ,
    /// in triage, waiting for the branch, forwarded (some answered, some misrouted), answered,
    /// rejected and closed — raised over the past weeks, so some clocks are breached. Walking a
    /// problem through its triggers takes a tenth of a second at national scale, so at most
    /// `walked` findings are raised, picked across all branches; the rest stay findings (the
    /// benchmark's bulk problems come from `loadVolume`).
    public static let walked = 3_000

    public func loadProblems(into pool: Pool, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let counts = try await pool.transaction { db in
            // Who acts, looked up once: by branch and role, and by department (role grants have no
            // department index, and a lookup per problem is what made a million clients slow).
            try await db.query(
                """
                create temp table demo_actors on commit drop as
                select branch_id, department_id, role, min(staff_id) as staff_id from huifang.role_grants
                where revoked_at is null and role in ('ops_director', 'marketing_director', 'brokerage_ops_center', 'risk_control_hq',
                                                      'sales_trading_hq', 'functional_dept')
                group by branch_id, department_id, role
                """)
            try await db.run(script: "create index on demo_actors (branch_id, role); create index on demo_actors (department_id, role); analyze demo_actors")
            try await db.query(
                """
                do $$
                declare
                    f record;
                    p huifang.problems;
                    leader bigint;
                    hq bigint;
                    fn record;
                    fate int;
                    days int;
                    fwd bigint;
                begin
                    for f in
                        select x.branch_id, x.id, x.kind, r.performer_staff_id as performer, r.form_code, r.submitted_at,
                               (hashint8(x.id)::bigint & 2147483647) % 100 as fate
                        from huifang.record_findings x
                        join huifang.records r on r.branch_id = x.branch_id and r.id = x.record_id
                        where x.problem_id is null and r.state in ('submitted', 'countersigned', 'archived') and r.client_id is not null
                        order by hashint8(x.id), x.branch_id, x.id
                        limit \(unescaped: String(Self.walked))
                    loop
                        fate := f.fate;
                        perform set_config('huifang.staff_id', f.performer::text, true);
                        insert into huifang.problems (branch_id, finding_id, category, severity, description, client_id)
                        select f.branch_id, f.id,
                               case f.kind when 'need' then (array['service_need', 'product_need'])[1 + fate % 2]
                                           when 'opinion' then 'client_complaint'
                                           else (array['system_issue', 'compliance_risk', 'data_error', 'other'])[1 + fate % 4] end,
                               (array['low', 'medium', 'medium', 'high'])[1 + fate % 4], x.text, r.client_id
                        from huifang.record_findings x join huifang.records r on r.branch_id = x.branch_id and r.id = x.record_id
                        where x.branch_id = f.branch_id and x.id = f.id
                        returning * into p;
                        -- Raised a few days after the callback (not in the future), so older ones are past their 15 days.
                        days := fate % 25;
                        update huifang.timers set started_at = least(now(), f.submitted_at + interval '1 day' * (1 + fate % 3))
                        where branch_id = p.branch_id and subject_kind = 'problem' and subject_id = p.id;
                        select a.staff_id into leader from demo_actors a
                        where a.branch_id = p.branch_id and a.staff_id <> p.raised_by
                          and a.role = case when p.via = 'service' then 'marketing_director' else 'ops_director' end
                        limit 1;
                        continue when fate < 8 or leader is null;
                        perform set_config('huifang.staff_id', leader::text, true);
                        if fate < 12 then
                            update huifang.problems set state = 'returned', last_action = 'return',
                                   return_reason = '请补充客户的具体诉求 Add what exactly the client asked for'
                            where branch_id = p.branch_id and id = p.id;
                            continue;
                        end if;
                        update huifang.problems set state = 'at_hq', last_action = 'approve' where branch_id = p.branch_id and id = p.id
                        returning * into p;
                        continue when fate < 25;
                        select a.staff_id into hq from demo_actors a
                        where a.department_id = p.department_id and a.role in ('brokerage_ops_center', 'risk_control_hq', 'sales_trading_hq')
                        limit 1;
                        continue when hq is null;
                        perform set_config('huifang.staff_id', hq::text, true);
                        update huifang.problems set state = 'in_triage', last_action = 'claim' where branch_id = p.branch_id and id = p.id;
                        continue when fate < 33;
                        if fate < 38 then
                            update huifang.problems set state = 'info_requested', last_action = 'request_info',
                                   info_request = '客户使用的是哪个版本的交易软件？ Which version of the trading app does the client use?'
                            where branch_id = p.branch_id and id = p.id;
                            continue;
                        end if;
                        if fate < 42 then
                            update huifang.problems set state = 'rejected', last_action = 'reject',
                                   rejection_reason = '属于市场行情正常波动 Normal market movement, not a service fault'
                            where branch_id = p.branch_id and id = p.id;
                            continue;
                        end if;
                        if fate < 50 then
                            update huifang.problems set state = 'answered', last_action = 'resolve',
                                   resolution = '已由总部直接答复客户经理 HQ answered the branch directly'
                            where branch_id = p.branch_id and id = p.id;
                            continue;
                        end if;
                        select a.department_id as department, a.staff_id as staff into fn
                        from demo_actors a where a.role = 'functional_dept'
                        order by (a.department_id * 31 + fate) % 7, a.department_id limit 1;
                        continue when fn.staff is null;
                        insert into huifang.problem_forwardings (branch_id, problem_id, department_id, note)
                        values (p.branch_id, p.id, fn.department, '请2个工作日内答复 Please answer within 2 working days')
                        returning id into fwd;
                        update huifang.problems set state = 'forwarded', last_action = 'forward' where branch_id = p.branch_id and id = p.id;
                        -- Received a while ago: a third of the forwardings are past their 2 working days.
                        update huifang.timers set started_at = now() - interval '1 day' * (fate % 6)
                        where branch_id = p.branch_id and subject_kind = 'problem_forwarding' and subject_id = fwd;
                        continue when fate < 62;
                        perform set_config('huifang.staff_id', fn.staff::text, true);
                        if fate < 66 then
                            update huifang.problem_forwardings set state = 'misrouted',
                                   suggestion = '建议转信息技术部 Suggest the IT department'
                            where branch_id = p.branch_id and id = fwd;
                            continue;
                        end if;
                        update huifang.problem_forwardings set state = 'answered',
                               answer = '已核实并处理，详见附件 Checked and handled; see the attached note'
                        where branch_id = p.branch_id and id = fwd;
                        continue when fate < 72;
                        perform set_config('huifang.staff_id', hq::text, true);
                        update huifang.problem_forwardings set state = 'accepted' where branch_id = p.branch_id and id = fwd;
                        update huifang.problems set state = 'answered', last_action = 'accept',
                               resolution = '已核实并处理 Checked and handled'
                        where branch_id = p.branch_id and id = p.id;
                        continue when fate < 78;
                        insert into huifang.problem_relays (branch_id, problem_id, recipient, channel, relayed_at)
                        values (p.branch_id, p.id, 'branch_leader', 'system', now()), (p.branch_id, p.id, 'responsible_person', 'system', now());
                        continue when fate < 82;
                        -- The relay to the client closes the problem (its trigger), stopping the 15-day clock.
                        insert into huifang.problem_relays (branch_id, problem_id, recipient, channel, relayed_at)
                        values (p.branch_id, p.id, 'client', 'phone', now());
                    end loop;
                end
                $$
                """)
            return try await db.query(
                "select state, count(*)::int from huifang.problems group by state order by state"
            ).map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int.self))" }
        }
        progress("problems by state: " + counts.joined(separator: ", "))
    }
}
