import Foundation
import Postgres

public struct Directive: Sendable {
    public var id: Int64
    public var departmentId: Int
    public var title: String
    public var purpose: String
    public var questions: JSONB
    public var targetKind: String
    public var targetFilter: JSONB?
    public var targetCount: Int
    public var executor: String
    public var executorDepartmentId: Int?
    public var dueOn: PostgresDate
    public var status: String
    public var createdBy: Int64
    public var createdAt: Date
    public var cancelReason: String?
    /// Tasks by state, and how many open ones are past due — in the branches the reader sees.
    public var progress: [String: Int] = [:]
    public var overdue = 0
}

/// HQ directives for special (Art 10, 12.3) and call-center (Art 3, 11) callbacks. Issuing one
/// creates its tasks in the same transaction, in every branch it targets.
public struct DirectiveStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// Whom a directive targets: listed clients (branch code + client number) or a filter.
    public enum Target: Sendable {
        case list([(branchCode: String, clientNo: String)])
        case filter(Filter)
    }

    public struct Filter: Sendable, Codable, Equatable {
        public var branchCodes: [String]?
        public var regions: [String]?
        public var segment: String?
        public var highNetWorth: Bool?
        public var brokerIntroduced: Bool?
        public var openedFrom: Date?
        public var openedTo: Date?
        public init() {}
    }

    public struct Input: Sendable {
        public var departmentId: Int
        public var title: String
        public var purpose: String
        public var questions: JSONB
        public var target: Target
        public var executor: String
        public var dueOn: PostgresDate
        public var today: PostgresDate
        public init(
            departmentId: Int, title: String, purpose: String, questions: JSONB, target: Target, executor: String,
            dueOn: PostgresDate, today: PostgresDate
        ) {
            self.departmentId = departmentId
            self.title = title
            self.purpose = purpose
            self.questions = questions
            self.target = target
            self.executor = executor
            self.dueOn = dueOn
            self.today = today
        }
    }

    public enum IssueError: Error, Equatable {
        /// List entries (by index) naming no open client.
        case unknownClients([Int])
        case emptyTarget
        case noCallCenter
        case dueTooSoon
        case noRule
    }

    /// Issues the directive as the transaction's staff member; returns its id and the number of tasks.
    public func issue(_ input: Input, createdBy: Int64) async throws -> (id: Int64, tasks: Int) {
        let clients: SQL
        var filterJSON: JSONB?
        switch input.target {
        case .list(let entries):
            // Each entry resolved once: its client, or nothing when no open client has that number.
            let resolved = try await connection.query(
                """
                select e.n - 1, c.branch_id, c.id
                from unnest(\(entries.map(\.branchCode))::text[], \(entries.map(\.clientNo))::text[]) with ordinality as e (code, no, n)
                left join huifang.branches b on b.code = e.code
                left join huifang.clients c on c.branch_id = b.id and c.client_no = e.no and c.status = 'open'
                order by e.n
                """
            ).map { (index: try $0.decode(0, as: Int.self), branch: try $0.decode(1, as: Int?.self), client: try $0.decode(2, as: Int64?.self)) }
            let missing = resolved.filter { $0.client == nil }.map(\.index)
            if !missing.isEmpty { throw IssueError.unknownClients(missing) }
            let found = resolved.compactMap { entry in entry.branch.flatMap { branch in entry.client.map { (branch, $0) } } }
            clients = """
                select distinct branch_id, id from unnest(\(found.map(\.0))::int[], \(found.map(\.1))::bigint[]) as t (branch_id, id)
                """
        case .filter(let filter):
            filterJSON = try JSONB(encoding: filter)
            var conditions: [SQL] = ["c.status = 'open'"]
            if let codes = filter.branchCodes { conditions.append("b.code = any(\(codes))") }
            if let regions = filter.regions { conditions.append("b.region = any(\(regions))") }
            if let introduced = filter.brokerIntroduced {
                conditions.append(introduced ? "c.referrer_broker_id is not null" : "c.referrer_broker_id is null")
            }
            if let from = filter.openedFrom { conditions.append("c.opened_at >= \(from)") }
            if let to = filter.openedTo { conditions.append("c.opened_at < \(to)") }
            if let segment = filter.segment { conditions.append("s.segment = \(segment)") }
            if let rich = filter.highNetWorth { conditions.append("coalesce(s.high_net_worth, false) = \(rich)") }
            var query: SQL = "select c.branch_id, c.id from huifang.clients c join huifang.branches b on b.id = c.branch_id"
            if filter.segment != nil || filter.highNetWorth != nil {
                query = query + " left join huifang.client_segments(\(input.today)) s on s.branch_id = c.branch_id and s.client_id = c.id"
            }
            clients = query + " where " + SQL.joined(conditions, separator: " and ")
        }
        let setup = try await connection.query(
            "select " + HQDepartment.first("call_center") + """
                , huifang.workdays_between('cn_workday', \(input.today), \(input.dueOn)),
                  (huifang.rule_in_effect('special', \(input.today))).version
                """
        ).single()
        let callCenter: Int? = try setup.decode(0)
        let workdays: Int = try setup.decode(1)
        guard let version: Int = try setup.decode(2) else { throw IssueError.noRule }
        if input.executor == "call_center" && callCenter == nil { throw IssueError.noCallCenter }
        guard workdays >= 1 else { throw IssueError.dueTooSoon }
        let executorDepartment = input.executor == "call_center" ? callCenter : nil
        let row = try await connection.query(
            """
            with targets as materialized (
            """ + clients + """
            ), directive as (
                insert into huifang.directives (department_id, title, purpose, questions, target_kind, target_filter, target_count,
                                                executor, executor_department_id, due_on, created_by)
                select \(input.departmentId), \(input.title), \(input.purpose), \(input.questions),
                       \(filterJSON == nil ? "list" : "filter"), \(filterJSON)::jsonb, count(*), \(input.executor), \(executorDepartment)::int,
                       \(input.dueOn), \(createdBy)
                from targets
                having count(*) > 0
                returning id
            ), recorded_targets as (
                insert into huifang.directive_targets (branch_id, directive_id, client_id)
                select t.branch_id, d.id, t.id from targets t cross join directive d
            ), tasks as (
                insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, client_id, directive_id,
                                                    title, owner_role, owner_department_id, executor_department_id,
                                                    clock_started_at, clock_workdays)
                select t.branch_id, 'special', \(version), to_char(\(input.dueOn)::date, 'YYYY-MM'), 'directive:' || d.id, t.id, d.id,
                       'Special callback: ' || \(input.title) || ' — ' || c.client_no,
                       case when \(input.executor) = 'call_center' then 'sales_trading_hq' else 'ops_director' end,
                       case when \(input.executor) = 'call_center' then \(input.departmentId)::int end, \(executorDepartment)::int,
                       now(), \(workdays)
                from targets t
                cross join directive d
                join huifang.clients c on c.branch_id = t.branch_id and c.id = t.id
                returning 1
            )
            select (select id from directive), (select count(*) from tasks)::int
            """
        ).single()
        guard let id: Int64 = try row.decode(0) else { throw IssueError.emptyTarget }
        return (id, try row.decode(1))
    }

    public func get(_ id: Int64, branches: [Int]?) async throws -> Directive? {
        try await list(id: id, departmentId: nil, branches: branches, after: nil, limit: 1).items.first
    }

    /// `branches`: the reader's `routingBranches`, named on the progress counts (nil: row-level
    /// security alone decides which branches' tasks count).
    public func list(id: Int64? = nil, departmentId: Int?, branches: [Int]?, after: Int64?, limit: Int) async throws -> Page<Directive> {
        var conditions: [SQL] = ["true"]
        if let id { conditions.append("d.id = \(id)") }
        if let departmentId { conditions.append("d.department_id = \(departmentId)") }
        if let after { conditions.append("d.id < \(after)") }
        let rows = try await connection.query(
            """
            select d.id, d.department_id, d.title, d.purpose, d.questions, d.target_kind, d.target_filter, d.target_count, d.executor,
                   d.executor_department_id, d.due_on, d.status, d.created_by, d.created_at, d.cancel_reason,
                   (select coalesce(jsonb_object_agg(state, n), '{}') from (
                        select c.state, sum(c.tasks)::int as n from huifang.directive_task_counts c
                        where c.directive_id = d.id and \(SQL.routed("c.branch_id", to: branches))
                        group by c.state having sum(c.tasks) > 0) s),
                   (select count(*)::int
                    from (select distinct c.branch_id from huifang.directive_task_counts c
                          where c.directive_id = d.id and c.state in ('open', 'assigned', 'in_progress') and c.tasks > 0
                            and \(SQL.routed("c.branch_id", to: branches))) b
                    cross join lateral (
                        select from huifang.callback_tasks t
                        where t.branch_id = b.branch_id and t.directive_id = d.id
                          and t.state in ('open', 'assigned', 'in_progress') and t.due_at < now()) o)
            from huifang.directives d
            where
            """ + " " + SQL.joined(conditions, separator: " and ") + " order by d.id desc limit \(limit + 1)")
        let directives = try rows.map { row in
            var directive = Directive(
                id: try row.decode(0), departmentId: try row.decode(1), title: try row.decode(2), purpose: try row.decode(3),
                questions: try row.decode(4), targetKind: try row.decode(5), targetFilter: try row.decode(6),
                targetCount: try row.decode(7), executor: try row.decode(8), executorDepartmentId: try row.decode(9),
                dueOn: try row.decode(10), status: try row.decode(11), createdBy: try row.decode(12), createdAt: try row.decode(13),
                cancelReason: try row.decode(14))
            let progress: JSONB = try row.decode(15)
            directive.progress = (try? progress.decode([String: Int].self)) ?? [:]
            directive.overdue = try row.decode(16)
            return directive
        }
        return Cursor.page(directives, limit: limit) { Cursor.encode($0.id) }
    }

    /// Cancels an active directive of one of `departments`; its open tasks are cancelled with it.
    public func cancel(_ id: Int64, departments: [Int], reason: String) async throws -> Bool {
        try await connection.execute(
            """
            update huifang.directives set status = 'cancelled', cancelled_at = now(), cancel_reason = \(reason)
            where id = \(id) and department_id = any(\(departments)) and status = 'active'
            """) == 1
    }
}
