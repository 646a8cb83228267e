import Domain
import Foundation
import Postgres

/// A realistic organization for `huifang demo` and for benchmarks: HQ departments, branches with
/// staff in every role, brokers, clients with referrers, and month-end asset snapshots covering
/// ≥ 10M, core, small/medium and dormant clients. Generated from a seed, so every run gives the
/// same data, and loaded with COPY in one transaction as the owner.
public struct DemoData: Sendable {
    public static let password = "huifang-demo"

    public var branches: Int
    public var clients: Int
    public var seed: UInt64
    /// Month-end snapshot dates; clients opened later have none for that date.
    public var snapshotDates: [PostgresDate] = [
        PostgresDate(year: 2025, month: 12, day: 31), PostgresDate(year: 2026, month: 6, day: 30),
        PostgresDate(year: 2026, month: 8, day: 31), PostgresDate(year: 2026, month: 9, day: 30),
        PostgresDate(year: 2026, month: 10, day: 31),
    ]
    /// The day the data pretends to be taken on; opening times and trades lie before it.
    public var today = PostgresDate(year: 2026, month: 11, day: 20)

    public init(branches: Int = 20, clients: Int = 20_000, seed: UInt64 = 20_261_125) {
        self.branches = branches
        self.clients = clients
        self.seed = seed
    }

    /// One login per role, to print.
    public struct Login: Sendable {
        public var employeeNo: String
        public var name: String
        public var role: Role
        public var scope: String
    }

    static let cities: [(code: String, name: String, region: String, idRegion: String, streets: [String])] = [
        ("BJ", "北京", "华北", "110101", ["建国门", "金融街", "中关村", "望京"]),
        ("SH", "上海", "华东", "310115", ["陆家嘴", "淮海中路", "南京西路", "徐家汇"]),
        ("GZ", "广州", "华南", "440106", ["天河路", "环市东路", "珠江新城"]),
        ("SZ", "深圳", "华南", "440304", ["福华路", "深南大道", "科技园"]),
        ("CD", "成都", "西南", "510104", ["春熙路", "天府大道"]),
        ("WH", "武汉", "华中", "420102", ["中山大道", "光谷"]),
        ("HZ", "杭州", "华东", "330106", ["庆春路", "钱江新城"]),
        ("NJ", "南京", "华东", "320102", ["中山东路", "河西"]),
        ("XA", "西安", "西北", "610103", ["南大街", "高新路"]),
        ("CQ", "重庆", "西南", "500103", ["解放碑", "江北嘴"]),
        ("TJ", "天津", "华北", "120101", ["南京路", "友谊路"]),
        ("SY", "沈阳", "东北", "210102", ["青年大街", "北站路"]),
        ("CS", "长沙", "华中", "430102", ["五一大道", "芙蓉中路"]),
        ("ZZ", "郑州", "华中", "410105", ["金水路", "郑东新区"]),
        ("JN", "济南", "华东", "370102", ["泉城路", "经十路"]),
        ("QD", "青岛", "华东", "370202", ["香港中路", "东海西路"]),
        ("DL", "大连", "东北", "210202", ["人民路", "星海广场"]),
        ("XM", "厦门", "华东", "350203", ["湖滨南路", "鹭江道"]),
        ("FZ", "福州", "华东", "350102", ["五四路", "东街口"]),
        ("KM", "昆明", "西南", "530102", ["东风西路", "北京路"]),
    ]

    static let departments: [(code: String, name: String, kind: String, role: Role, people: Int)] = [
        ("ST", "销售交易总部", "sales_trading", .salesTradingHQ, 3),
        ("BOC", "经纪业务运营中心", "brokerage_ops_center", .brokerageOpsCenter, 4),
        ("RISK", "风险控制总部", "risk_control", .riskControlHQ, 3),
        ("CC", "呼叫中心", "call_center", .callCenter, 6),
        ("IT", "信息技术部", "functional", .functionalDept, 3),
        ("PROD", "产品部", "functional", .functionalDept, 2),
        ("RES", "研究所", "functional", .functionalDept, 2),
        ("CLR", "清算部", "functional", .functionalDept, 2),
        ("LEGAL", "法律合规部", "functional", .functionalDept, 2),
        ("AUD", "稽核部", "other", .auditor, 2),
        ("ADM", "信息管理部", "other", .admin, 2),
    ]

    /// Branch staff: role and how many per branch.
    static let branchStaff: [(role: Role, count: Int, tag: String)] = [
        (.opsDirector, 1, "OPS"), (.marketingDirector, 1, "MKT"), (.branchManager, 1, "MGR"), (.frontDesk, 2, "DESK"),
        (.responsiblePerson, 6, "RP"),
    ]
    static let brokersPerBranch = 5

    /// Whether the database already holds an organization (demo data is then left alone).
    public static func isLoaded(_ pool: Pool) async throws -> Bool {
        try await pool.query("select exists (select from huifang.branches)").single().decode(0)
    }

    /// The whole demo of `huifang demo`'s first run: the organization, two months of client events,
    /// the year's tasks, their records and the problems found in them. Returns the events received
    /// and the special callbacks they opened.
    public func loadDemo(
        into pool: Pool, passwordHash: String, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> (events: Int, specialCallbacks: Int) {
        try await load(into: pool, passwordHash: passwordHash, progress: progress)
        let events = try await loadEvents(into: pool, progress: progress)
        try await loadTasks(into: pool, progress: progress)
        try await loadRecords(into: pool, progress: progress)
        try await loadProblems(into: pool, progress: progress)
        return (events.0, events.2)
    }

    /// Loads everything in one transaction; `progress` gets a line per table.
    public func load(into pool: Pool, passwordHash: String, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let plan = self
        try await pool.transaction { db in
            let start = ContinuousClock.now
            func report(_ table: String, _ rows: Int) {
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                progress(table.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%10d rows  (%.1f s)", rows, seconds))
            }
            let organization = plan.organization()
            report("branches", try await db.copyIn("copy huifang.branches (id, code, name, region) from stdin") { writer in
                for branch in organization.branches { try writer.write(row: [String(branch.id), branch.code, branch.name, branch.region]) }
            })
            report("departments", try await db.copyIn("copy huifang.departments (id, code, name, kind) from stdin") { writer in
                for (index, department) in Self.departments.enumerated() {
                    try writer.write(row: [String(index + 1), department.code, department.name, department.kind])
                }
            })
            report("staff", try await db.copyIn(
                "copy huifang.staff (id, employee_no, name, phone, email, home_branch_id, home_department_id) from stdin"
            ) { writer in
                for person in organization.staff {
                    try writer.write(row: [
                        String(person.id), person.employeeNo, person.name, person.phone,
                        person.employeeNo.lowercased() + "@demo.huifang.dev", person.branch.map(String.init),
                        person.department.map(String.init),
                    ])
                }
            })
            report("role grants", try await db.copyIn(
                "copy huifang.role_grants (staff_id, role, branch_id, department_id) from stdin"
            ) { writer in
                for person in organization.staff {
                    try writer.write(row: [String(person.id), person.role.rawValue, person.branch.map(String.init), person.department.map(String.init)])
                }
            })
            report("credentials", try await db.copyIn("copy huifang.staff_credentials (staff_id, password_hash) from stdin") { writer in
                for person in organization.staff { try writer.write(row: [String(person.id), passwordHash]) }
            })
            report("brokers", try await db.copyIn(
                "copy huifang.brokers (id, branch_id, agent_no, name, phone, status, registered_on) from stdin"
            ) { writer in
                for broker in organization.brokers {
                    try writer.write(row: [
                        String(broker.id), String(broker.branch), broker.agentNo, broker.name, broker.phone, broker.status,
                        broker.registeredOn,
                    ])
                }
            })
            report("clients", try await db.copyIn(
                """
                copy huifang.clients (id, branch_id, client_no, name, id_type, id_number, phone, opened_at, status, closed_at,
                                      referrer_staff_id, referrer_broker_id) from stdin
                """
            ) { writer in
                var random = DemoRandom(seed: plan.seed &+ 2)
                for n in stride(from: 1, through: plan.clients, by: 1) {
                    try writer.write(row: plan.client(n, organization, &random).row)
                }
            })
            report("asset snapshots", try await db.copyIn(
                "copy huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets, last_trade_date) from stdin"
            ) { writer in
                var random = DemoRandom(seed: plan.seed &+ 2)
                var assets = DemoRandom(seed: plan.seed &+ 3)
                for n in stride(from: 1, through: plan.clients, by: 1) {
                    let client = plan.client(n, organization, &random)
                    for row in plan.snapshots(of: client, &assets) { try writer.write(row: row) }
                }
            })
            for table in ["branches", "departments", "staff", "brokers", "clients"] {
                try await db.query(
                    "select setval(pg_get_serial_sequence(\("huifang." + table), 'id'), (select max(id) from \(unescaped: "huifang." + table)))")
            }
            try await db.query(
                """
                insert into huifang.audit_events (action, object_type, object_id, detail)
                values ('demo.loaded', 'organization', null,
                        jsonb_build_object('branches', \(plan.branches)::int, 'clients', \(plan.clients)::int, 'seed', \(String(plan.seed))::text))
                """)
            try await db.run(script: "analyze")
        }
    }

    /// One person per role (the first of each), for the login list.
    public static func logins(_ pool: Pool) async throws -> [Login] {
        try await pool.query(
            """
            select distinct on (g.role) s.employee_no, s.name, g.role, coalesce(b.code || ' ' || b.name, d.code || ' ' || d.name)
            from huifang.role_grants g
            join huifang.staff s on s.id = g.staff_id and s.status = 'active'
            join huifang.staff_credentials c on c.staff_id = s.id
            left join huifang.branches b on b.id = g.branch_id
            left join huifang.departments d on d.id = g.department_id
            where g.revoked_at is null
            order by g.role, s.id
            """
        ).compactMap { row in
            guard let role = Role(rawValue: try row.decode(2)) else { return nil }
            return Login(employeeNo: try row.decode(0), name: try row.decode(1), role: role, scope: try row.decode(3))
        }.sorted { Role.allCases.firstIndex(of: $0.role)! < Role.allCases.firstIndex(of: $1.role)! }
    }
}
