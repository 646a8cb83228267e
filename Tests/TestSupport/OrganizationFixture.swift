import Domain
import Foundation
import HummingbirdBcrypt
import Postgres
import Store

/// Two branches with a client, broker and snapshot each, HQ departments, and one staff member per
/// interesting role, written as the owner. Every staff member's password is `Fixture.password`.
public struct OrganizationFixture: Sendable {
    public static let password = "correct horse battery"
    /// Cost 4: the cheapest bcrypt, so tests spend their time on behaviour.
    public static let passwordHash = Bcrypt.hash(password, cost: 4)

    public var branchA: Int
    public var branchB: Int
    public var clientA: Int64
    public var clientB: Int64
    public var brokerA: Int64
    public var brokerB: Int64
    /// Employee numbers by name: opsA, deskA, rpA, managerA, deskB, opsB, callCenter, salesTrading, functional, auditor, admin.
    public var staff: [String: Int64]
    public static let clearIDNumber = "110101199003074578"
    public static let clearPhone = "13812345678"

    /// Client A's new-account callback task (a broker introduced the client, so it has one).
    public func newAccountTaskA(in pool: Pool) async throws -> Int64 {
        try await pool.query(
            "select id from huifang.callback_tasks where client_id = \(clientA) and rule_code = 'new_account_broker'"
        ).single().decode(0)
    }

    public static func load(into pool: Pool) async throws -> OrganizationFixture {
        try await pool.transaction { db in
            let branches = try await db.query(
                """
                insert into huifang.branches (code, name, region) values ('BJ001', '北京建国门营业部', '华北'), ('SH001', '上海浦东营业部', '华东')
                returning id
                """
            ).map { try $0.decode(0, as: Int.self) }
            let departments = try await db.query(
                """
                insert into huifang.departments (code, name, kind) values
                    ('ST', '销售交易总部', 'sales_trading'), ('CC', '呼叫中心', 'call_center'),
                    ('IT', '信息技术部', 'functional'), ('AUD', '稽核部', 'other'), ('ADM', '信息管理部', 'other'),
                    ('BOC', '经纪业务运营中心', 'brokerage_ops_center'), ('RISK', '风险控制总部', 'risk_control'),
                    ('LEGAL', '法律合规部', 'functional')
                returning id
                """
            ).map { try $0.decode(0, as: Int.self) }
            let (a, b) = (branches[0], branches[1])
            let people: [(String, Role, Int?, Int?)] = [
                ("opsA", .opsDirector, a, nil), ("deskA", .frontDesk, a, nil), ("rpA", .responsiblePerson, a, nil),
                ("managerA", .branchManager, a, nil), ("deskB", .frontDesk, b, nil), ("opsB", .opsDirector, b, nil),
                ("salesTrading", .salesTradingHQ, nil, departments[0]), ("callCenter", .callCenter, nil, departments[1]),
                ("functional", .functionalDept, nil, departments[2]), ("auditor", .auditor, nil, departments[3]),
                ("admin", .admin, nil, departments[4]), ("mktA", .marketingDirector, a, nil),
                ("opsCenter", .brokerageOpsCenter, nil, departments[5]), ("risk", .riskControlHQ, nil, departments[6]),
                ("mktB", .marketingDirector, b, nil), ("legal", .functionalDept, nil, departments[7]),
            ]
            var staff: [String: Int64] = [:]
            for (name, role, branch, department) in people {
                let id: Int64 = try await db.query(
                    """
                    insert into huifang.staff (employee_no, name, phone, home_branch_id, home_department_id)
                    values (\(name), \(name), '13900001111', \(branch), \(department)) returning id
                    """
                ).single().decode(0)
                try await db.query(
                    """
                    insert into huifang.role_grants (staff_id, role, branch_id, department_id)
                    values (\(id), \(role.rawValue), \(branch), \(department))
                    """)
                try await db.query(
                    "insert into huifang.staff_credentials (staff_id, password_hash) values (\(id), \(passwordHash))")
                staff[name] = id
            }
            var brokers: [Int64] = []
            var clients: [Int64] = []
            for branch in [a, b] {
                let broker: Int64 = try await db.query(
                    "insert into huifang.brokers (branch_id, agent_no, name) values (\(branch), 'AG001', '王经纪') returning id"
                ).single().decode(0)
                let client: Int64 = try await db.query(
                    """
                    insert into huifang.clients (branch_id, client_no, name, id_type, id_number, phone, opened_at, referrer_broker_id)
                    values (\(branch), 'C0001', '李四', 'resident_id', \(clearIDNumber), \(clearPhone),
                            '2026-03-02 10:00:00+08', \(broker))
                    returning id
                    """
                ).single().decode(0)
                try await db.query(
                    """
                    insert into huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets, last_trade_date)
                    values (\(branch), \(client), '2026-06-30', 12000000.00, '2026-06-28')
                    """)
                try await db.query(
                    """
                    insert into huifang.audit_events (branch_id, action, object_type, object_id)
                    values (\(branch), 'client.opened', 'client', \(String(client)))
                    """)
                // A movement the core system reported, below the event rule's thresholds: no callback.
                try await db.query(
                    """
                    insert into huifang.client_events (branch_id, client_id, external_id, kind, occurred_at, amount, source)
                    values (\(branch), \(client), 'CORE-FIXTURE-1', 'large_asset_movement', '2026-06-15 10:00+08', 1000.00, 'import')
                    """)
                // An SLA clock long past its deadline, fired once below, so every timer table has rows.
                try await db.query(
                    """
                    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify)
                    values (\(branch), 'client', \(client), 'new_account_callback', '2026-03-02 10:00:00+08', 5,
                            'New-account callback C0001', \(try JSONB(encoding: [Recipient(role: "ops_director", branchId: branch)])))
                    """)
                // Obligations: the account's own new-account task (made by the opening trigger), a flag
                // with its verification task, a recorded draw and a logged attempt.
                try await db.query(
                    """
                    insert into huifang.client_flags (branch_id, client_id, fields, reason, source, rule, flagged_at)
                    values (\(branch), \(client), '{phone}', 'no phone number on file', 'rule', 'missing_phone', '2026-06-01 09:00+08')
                    """)
                try await db.query(
                    """
                    insert into huifang.obligation_draws (branch_id, rule_code, rule_version, period, sample_window, draw_no, as_of, seed,
                                                          population_clients, required)
                    values (\(branch), 'core_monthly', 1, '2026-06', '2026-06', 1, '2026-05-31', 'fixture', array[\(client)]::bigint[], 1)
                    """)
                try await db.query(
                    """
                    insert into huifang.callback_attempts (branch_id, task_id, attempted_at, channel, outcome, staff_id, recorded_at)
                    select branch_id, id, '2026-03-03 10:00+08', 'phone', 'no_answer', \(staff[branch == a ? "opsA" : "opsB"]!),
                           '2026-03-03 10:05+08'
                    from huifang.callback_tasks where branch_id = \(branch) and rule_code = 'new_account_broker'
                    """)
                brokers.append(broker)
                clients.append(client)
            }
            try await loadRecords(db, branches: [a, b], clients: clients, staff: staff, salesTrading: departments[0])
            try await loadDelivery(db, branches: [a, b])
            // Last year's evaluation of each branch by the Brokerage Ops Center, published.
            try await db.query("select set_config('huifang.staff_id', \(String(staff["opsCenter"]!)), true)")
            for branch in [a, b] {
                let evaluation: Int64 = try await db.query(
                    "insert into huifang.evaluations (branch_id, department_id, year) values (\(branch), \(departments[5]), 2025) returning id"
                ).single().decode(0)
                try await db.query(
                    """
                    insert into huifang.evaluation_scores (branch_id, evaluation_id, criterion, score)
                    select \(branch), \(evaluation), code, 88 from huifang.evaluation_criteria
                    """)
                try await db.query(
                    "insert into huifang.evaluation_findings (branch_id, evaluation_id, text, severity) values (\(branch), \(evaluation), '部分回访记录缺少录音编号', 'medium')")
                try await db.query("update huifang.evaluations set state = 'closed' where branch_id = \(branch) and id = \(evaluation)")
                try await db.query(
                    "update huifang.evaluations set state = 'published', summary = '总体合格 Satisfactory' where branch_id = \(branch) and id = \(evaluation)")
            }
            // The Ops Center's 2025 duty to each branch (Art 16), without its clock: a past year's clock
            // would be overdue in every test that reads today's monitoring.
            try await db.query(
                """
                insert into huifang.evaluation_duties (branch_id, department_id, year)
                select branch, \(departments[5])::int, 2025 from unnest(array[\(a)::int, \(b)::int]) branch
                """)
            try await db.query("select set_config('huifang.system', 'on', true)")
            _ = try await db.query(SLAEngine.fireQuery(limit: 100))
            try await db.query(
                """
                insert into huifang.notification_reads (branch_id, notification_id, staff_id)
                select n.branch_id, n.id, g.staff_id from huifang.notifications n
                join huifang.role_grants g on g.role = n.recipient_role and g.branch_id = n.recipient_branch_id
                """)
            return OrganizationFixture(
                branchA: a, branchB: b, clientA: clients[0], clientB: clients[1], brokerA: brokers[0], brokerB: brokers[1],
                staff: staff)
        }
    }

    /// Per branch: a countersigned service record by the front desk with a finding (raised) and a
    /// profile, May 2026's upload submitted, and a directive's feedback package — every record table has rows.
    static func loadRecords(_ db: Connection, branches: [Int], clients: [Int64], staff: [String: Int64], salesTrading: Int) async throws {
        let directive: Int64 = try await db.query(
            """
            insert into huifang.directives (department_id, title, purpose, questions, target_kind, target_count, executor, due_on, created_by)
            values (\(salesTrading), '清密确认', 'Confirm password resets', '[{"id": "q1", "text": "是否本人申请？"}]', 'list', 2, 'branch',
                    '2026-06-30', \(staff["salesTrading"]!))
            returning id
            """
        ).single().decode(0)
        try await db.query(
            """
            insert into huifang.directive_targets (branch_id, directive_id, client_id)
            select branch_id, \(directive), client_id from unnest(\(branches)::int[], \(clients)::bigint[]) as t (branch_id, client_id)
            """)
        try await db.query("select huifang.open_record_uploads('2026-05')")
        for (index, branch) in branches.enumerated() {
            let letter = index == 0 ? "A" : "B"
            func act(as who: String) async throws {
                try await db.query("select set_config('huifang.staff_id', \(String(staff[who + letter]!)), true)")
            }
            try await act(as: "desk")
            let record: Int64 = try await db.query(
                """
                insert into huifang.records (branch_id, form_code, form_version, client_id, answers, profile_form_code, profile_form_version,
                                             profile_answers)
                values (\(branch), 'service', 1, \(clients[index]),
                        '{"method": "phone", "findings": [{"kind": "need", "text": "wants bond research"}]}', 'client_profile', 1,
                        '{"occupation": "teacher"}')
                returning id
                """
            ).single().decode(0)
            try await db.query("update huifang.records set state = 'submitted' where id = \(record)")
            try await db.query(
                """
                insert into huifang.problems (branch_id, finding_id, category, severity, description)
                select branch_id, id, 'service_need', 'low', text from huifang.record_findings where record_id = \(record)
                """)
            try await act(as: "mkt")
            try await db.query("update huifang.records set state = 'countersigned' where id = \(record)")
            // The problem goes to S&T HQ (a service finding), to IT and back; the branch leader has the answer.
            try await db.query("update huifang.problems set state = 'at_hq', last_action = 'approve' where branch_id = \(branch)")
            func actHQ(as who: String) async throws {
                try await db.query("select set_config('huifang.staff_id', \(String(staff[who]!)), true)")
            }
            try await actHQ(as: "salesTrading")
            try await db.query(
                """
                insert into huifang.problem_forwardings (branch_id, problem_id, department_id)
                select branch_id, id, (select id from huifang.departments where code = 'IT') from huifang.problems where branch_id = \(branch)
                """)
            try await db.query("update huifang.problems set state = 'forwarded', last_action = 'forward' where branch_id = \(branch)")
            try await actHQ(as: "functional")
            try await db.query(
                "update huifang.problem_forwardings set state = 'answered', answer = '研究所将增加债券周报' where branch_id = \(branch)")
            try await actHQ(as: "salesTrading")
            try await db.query("update huifang.problem_forwardings set state = 'accepted' where branch_id = \(branch)")
            try await db.query(
                "update huifang.problems set state = 'answered', last_action = 'accept', resolution = '研究所将增加债券周报' where branch_id = \(branch)")
            try await db.query(
                """
                insert into huifang.problem_relays (branch_id, problem_id, recipient, channel, relayed_at)
                select branch_id, id, 'branch_leader', 'system', now() from huifang.problems where branch_id = \(branch)
                """)
            try await act(as: "ops")
            try await db.query("update huifang.record_uploads set state = 'submitted' where branch_id = \(branch) and month = '2026-05'")
            try await db.query("select huifang.open_directive_feedback(\(branch), \(directive), '2026-06-10 10:00+08', 'tasks_closed')")
        }
    }

    /// Each branch's ops director has a channel (switched off: tests that deliver add their own) that
    /// delivered last month's-end digest, so every delivery table has rows of both branches.
    private static func loadDelivery(_ db: Connection, branches: [Int]) async throws {
        try await db.query("insert into huifang.delivery_digest_days (day) values ('2026-06-30')")
        for branch in branches {
            try await db.query(
                """
                with channel as (
                    insert into huifang.delivery_channels (branch_id, role, kind, name, url, secret, notification_kinds, enabled)
                    values (\(branch), 'ops_director', 'webhook', 'fixture', 'https://hooks.example.com/huifang',
                            'fixture-secret-0123456789', '{breach}', false)
                    returning id
                ), digest as (
                    insert into huifang.delivery_digests (day, recipient_role, recipient_branch_id, due_today, overdue, items)
                    values ('2026-06-30', 'ops_director', \(branch), 0, 1, '[]')
                    returning id
                )
                insert into huifang.deliveries (channel_id, digest_id, kind, state, attempts, next_attempt_at, delivered_at, last_status)
                select channel.id, digest.id, 'digest', 'delivered', 1, null, '2026-06-30 08:30:05+08', 200 from channel, digest
                """)
        }
    }
}
