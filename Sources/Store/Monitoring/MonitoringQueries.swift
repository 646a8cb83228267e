import Domain
import Foundation
import Postgres

/// A clock past its deadline (overdue) or past its 75 % warning (at risk), with what it is about.
public struct ClockItem: Sendable {
    /// callback_task, record_upload, directive_feedback, problem_forwarding or problem.
    public var kind: String
    public var branchId: Int
    public var branchCode: String
    public var region: String
    /// The HQ department holding it (a problem's, a forwarding's, S&T HQ's callback), if any.
    public var departmentId: Int?
    public var subjectId: Int64
    public var title: String
    public var dueAt: Date
    /// Working days since the deadline's day (0: due today or not yet due).
    public var ageWorkdays: Int
    public var provisional: Bool
}

/// HQ's daily question — what is overdue, where, and why — and the compliance figures, in the
/// transaction's scope (row-level security decides which branches a reader sees).
public struct MonitoringQueries: Sendable {
    public let connection: Connection
    public let now: Date

    public init(_ connection: Connection, now: Date) {
        self.connection = connection
        self.now = now
    }

    public struct Filter: Sendable {
        public var kind: String?
        public var branchId: Int?
        public var region: String?
        public var departmentId: Int?
        public init() {}
    }

    public enum Window: Sendable {
        /// Past the deadline, not stopped.
        case overdue
        /// Past the 75 % warning, not yet due, not stopped.
        case atRisk
    }

    /// Items, oldest deadline first, from each branch's open clocks.
    public func clocks(_ window: Window, _ filter: Filter, branches: [Int]?, limit: Int) async throws -> [ClockItem] {
        try await connection.query(Self.clocksSQL(window, filter, branches: branches, limit: limit, now: now)).map { row in
            ClockItem(
                kind: try row.decode(0), branchId: try row.decode(1), branchCode: try row.decode(2), region: try row.decode(3),
                departmentId: try row.decode(4), subjectId: try row.decode(5), title: try row.decode(6), dueAt: try row.decode(7),
                ageWorkdays: try row.decode(8), provisional: try row.decode(9))
        }
    }

    static func clocksSQL(_ window: Window, _ filter: Filter, branches: [Int]?, limit: Int, now: Date) -> SQL {
        var conditions: [SQL] = []
        switch window {
        case .overdue: conditions.append("t.due_at <= \(now)::timestamptz")
        case .atRisk:
            conditions.append("t.due_at > \(now)::timestamptz")
            conditions.append("t.stage_at[array_position(t.stage_names, 'warning_75')] <= \(now)::timestamptz")
        }
        if let kind = filter.kind { conditions.append("t.subject_kind = \(kind)") }
        if let department = filter.departmentId { conditions.append("t.department_id = \(department)") }
        let page: SQL
        if branches == nil && filter.branchId == nil && filter.region == nil {
            // Every branch: one walk of the open clocks in deadline order (sql/0054), stopping at the
            // page; merging each branch's first page read 350 × the page's clocks (400 ms at
            // national scale for the at-risk list, whose warning instant is not in the index).
            page = "select t.branch_id, t.id from huifang.timers t where t.stopped_at is null and "
                + SQL.joined(conditions, separator: " and ") + " order by t.due_at, t.branch_id, t.id limit \(limit)"
        } else {
            var branchConditions: [SQL] = [.branch("id", in: branches)]
            if let branch = filter.branchId { branchConditions.append("id = \(branch)") }
            if let region = filter.region { branchConditions.append("region = \(region)") }
            // Each branch's oldest deadlines from its own index, merged.
            page = "select x.branch_id, x.id from (select id from huifang.branches where "
                + SQL.joined(branchConditions, separator: " and ") + ") b cross join lateral ("
                + "select t.branch_id, t.id, t.due_at from huifang.timers t where t.branch_id = b.id and t.stopped_at is null and "
                + SQL.joined(conditions, separator: " and ")
                + " order by t.due_at limit \(limit)) x order by x.due_at, x.branch_id, x.id limit \(limit)"
        }
        // The details and the age (a calendar lookup) only for the page.
        return "with page as (" + page + ") "
            + """
            select t.subject_kind, t.branch_id, b.code, b.region, t.department_id, t.subject_id, t.title, t.due_at,
                   greatest(0, huifang.workdays_between('cn_workday', (t.due_at at time zone 'Asia/Shanghai')::date - 1,
                                                        (\(now)::timestamptz at time zone 'Asia/Shanghai')::date)),
                   t.provisional
            from page p join huifang.timers t on t.branch_id = p.branch_id and t.id = p.id
            join huifang.branches b on b.id = t.branch_id
            order by t.due_at, t.branch_id, t.id
            """
    }

    /// Per branch and kind: how many clocks are overdue and the oldest's age in working days.
    public struct OverdueCount: Sendable, Equatable {
        public var branchId: Int
        public var branchCode: String
        public var kind: String
        public var count: Int
        public var oldestAgeWorkdays: Int
    }

    public func overdueCounts(branches: [Int]?, kind: String?) async throws -> [OverdueCount] {
        try await connection.query(Self.overdueCountsSQL(branches: branches, kind: kind, now: now)).map { row in
            OverdueCount(
                branchId: try row.decode(0), branchCode: try row.decode(1), kind: try row.decode(2), count: try row.decode(3),
                oldestAgeWorkdays: try row.decode(4))
        }
    }

    /// Days before today from the open-clock totals less the days still to come (sql/0069; summing
    /// every past day of open_clock_days read 60,000 rows for HQ), the oldest from each branch's and
    /// kind's first day still counting a clock; today's deadlines from the clocks, those already
    /// past the hour, per branch from its index. The age of the oldest from its day.
    static func overdueCountsSQL(branches: [Int]?, kind: String?, now: Date) -> SQL {
        let branchScope: SQL = branches.map { "select id, code from huifang.branches where id = any(\($0))" }
            ?? "select id, code from huifang.branches"
        let totalBranches: SQL = branches.map { " and s.branch_id = any(\($0))" } ?? ""
        return "with b as (" + branchScope + ") "
                + """
                , d as (select (\(now)::timestamptz at time zone 'Asia/Shanghai')::date as today),
                totals as (
                    select s.branch_id, s.subject_kind, sum(s.open)::int as open
                    from huifang.open_clock_totals s
                    where (\(kind)::text is null or s.subject_kind = \(kind))
                """ + totalBranches + """

                    group by s.branch_id, s.subject_kind having sum(s.open) > 0
                ), past as (
                    select s.branch_id, s.subject_kind, s.open - later.n as n, first.due_on as oldest
                    from totals s cross join d
                    cross join lateral (
                        select coalesce(sum(f.open), 0) as n from huifang.open_clock_days f
                        where f.branch_id = s.branch_id and f.subject_kind = s.subject_kind and f.due_on >= d.today) later
                    cross join lateral (
                        select f.due_on from huifang.open_clock_days f
                        where f.branch_id = s.branch_id and f.subject_kind = s.subject_kind and f.open > 0
                        order by f.due_on limit 1) first
                    where s.open - later.n > 0
                ), today as (
                    select x.branch_id, x.subject_kind, count(*) as n, min(d.today) as oldest
                    from b cross join d
                    cross join lateral (
                        select t.branch_id, t.subject_kind from huifang.timers t
                        where t.branch_id = b.id and t.stopped_at is null
                          and t.due_at >= \(PostgresDate.shanghai(now).shanghaiMidnight)::timestamptz and t.due_at <= \(now)::timestamptz
                          and (\(kind)::text is null or t.subject_kind = \(kind))) x
                    group by x.branch_id, x.subject_kind
                ), grouped as (
                    select b.id, b.code, u.subject_kind, sum(u.n)::int as n, min(u.oldest) as oldest
                    from (select * from past union all select * from today) u
                    join b on b.id = u.branch_id
                    group by b.id, b.code, u.subject_kind
                ),
                -- An age per oldest day, not per branch and kind: 9 days against 875 rows nationally.
                -- Materialized: inlined, the function ran again for every row of the join.
                ages as materialized (
                    select o.oldest, greatest(0, huifang.workdays_between('cn_workday', o.oldest - 1, d.today)) as age
                    from (select distinct oldest from grouped) o cross join d
                )
                select g.id, g.code, g.subject_kind, g.n, a.age
                from grouped g join ages a on a.oldest = g.oldest
                order by g.code, g.subject_kind
                """
    }

    /// `column` within `month` (YYYY-MM) in Shanghai: a range between two instants bound as values,
    /// so an index on the column serves it even under row-level security (a bound computed in SQL
    /// by non-leakproof functions could only filter after the policies, never bound an index scan).
    static func inMonth(_ column: String, _ month: String) -> SQL {
        let range = monthRange(month)
        return "\(unescaped: column) >= \(range.start)::timestamptz and \(unescaped: column) < \(range.end)::timestamptz"
    }

    /// `month`'s first instant and the next month's, in Shanghai. Months are checked before they get
    /// here; an impossible one is an empty range, which selects nothing.
    static func monthRange(_ month: String) -> (start: Date, end: Date) {
        PostgresDate.shanghaiMonth(month) ?? (Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 0))
    }

    /// Each branch's upload of `month`: on time, late, missing (past due) or pending.
    public struct UploadStanding: Sendable, Equatable {
        public var branchId: Int
        public var branchCode: String
        public var standing: String
        public var dueAt: Date?
        public var submittedAt: Date?
        public var recordCount: Int?
    }

    public func uploadCompliance(month: String, branches: [Int]?) async throws -> [UploadStanding] {
        try await connection.query(Self.uploadComplianceSQL(month: month, branches: branches, now: now)).map { row in
            UploadStanding(
                branchId: try row.decode(0), branchCode: try row.decode(1), standing: try row.decode(2), dueAt: try row.decode(3),
                submittedAt: try row.decode(4), recordCount: try row.decode(5))
        }
    }

    static func uploadComplianceSQL(month: String, branches: [Int]?, now: Date) -> SQL {
        """
            select b.id, b.code,
                   case when u.id is null then 'not_opened'
                        when u.submitted_at is not null then (case when u.submitted_at <= t.due_at then 'on_time' else 'late' end)
                        when t.due_at <= \(now)::timestamptz then 'missing' else 'pending' end,
                   t.due_at, u.submitted_at, u.record_count
            from huifang.branches b
            left join huifang.record_uploads u on u.branch_id = b.id and u.month = \(month)
            left join huifang.timers t on t.branch_id = u.branch_id and t.subject_kind = 'record_upload' and t.subject_id = u.id
            where b.status = 'active' and
            """ + " " + .branch("b.id", in: branches) + " order by b.code"
    }

    /// A branch's people in `month`: callbacks completed (and on time), records returned by the
    /// leader, problems raised and how they ended.
    public struct PersonFigures: Sendable, Equatable {
        public var staffId: Int64
        public var employeeNo: String
        public var name: String
        public var callbacksDone: Int
        public var callbacksOnTime: Int
        public var recordsReturned: Int
        public var problemsRaised: Int
        public var problemsClosed: Int
        public var problemsRejected: Int
        public var problemsOpen: Int
    }

    public func people(branchId: Int, month: String) async throws -> [PersonFigures] {
        try await connection.query(Self.peopleSQL(branchId: branchId, month: month)).map { row in
            PersonFigures(
                staffId: try row.decode(0), employeeNo: try row.decode(1), name: try row.decode(2), callbacksDone: try row.decode(3),
                callbacksOnTime: try row.decode(4), recordsReturned: try row.decode(5), problemsRaised: try row.decode(6),
                problemsClosed: try row.decode(7), problemsRejected: try row.decode(8), problemsOpen: try row.decode(9))
        }
    }

    /// The branch's people from their running monthly figures (sql/0027_person_month_figures.sql).
    static func peopleSQL(branchId: Int, month: String) -> SQL {
        """
            with staff as (
                select distinct s.id, s.employee_no, s.name from huifang.staff s
                join huifang.role_grants g on g.staff_id = s.id and g.branch_id = \(branchId)
                  and g.role in ('responsible_person', 'front_desk', 'ops_director', 'marketing_director')
            )
            select s.id, s.employee_no, s.name, coalesce(f.callbacks_done, 0), coalesce(f.callbacks_on_time, 0),
                   coalesce(f.records_returned, 0), coalesce(f.problems_raised, 0), coalesce(f.problems_closed, 0),
                   coalesce(f.problems_rejected, 0), coalesce(f.problems_open, 0)
            from staff s
            left join huifang.person_month_figures f on f.branch_id = \(branchId) and f.month = \(month) and f.staff_id = s.id
            order by s.employee_no
            """
    }

    /// Every monitoring query, by name, as a reader of `branches` (nil: every branch) would run it at
    /// `now`: what `huifang bench monitoring` times and the plan test explains.
    public static func all(now: Date, month: String, branches: [Int]?, branchId: Int) -> [(name: String, sql: SQL)] {
        [
            ("overdue items", clocksSQL(.overdue, Filter(), branches: branches, limit: 100, now: now)),
            ("overdue counts", overdueCountsSQL(branches: branches, kind: nil, now: now)),
            ("at risk", clocksSQL(.atRisk, Filter(), branches: branches, limit: 100, now: now)),
            ("forwarding SLA", forwardingComplianceSQL(month: month, branches: branches, now: now)),
            ("problem SLA by department and branch", problemComplianceSQL(month: month, branches: branches, now: now)),
            ("upload compliance", uploadComplianceSQL(month: month, branches: branches, now: now)),
            ("people of a branch", peopleSQL(branchId: branchId, month: month)),
        ]
    }
}

extension MonitoringQueries {
    /// Monitoring statements are prepared once per connection and run again with new values; with
    /// row-level security, planning each run cost more than running it (0.3 ms against 0.05 ms for
    /// a branch's upload standing), so they run on their generic plan. Their plans are index
    /// walks whatever the values, which the plan test keeps honest.
    public static let settings = Pool.genericPlans
}

extension Pool {
    /// A read-only transaction in `access`'s scope, set up for the monitoring queries.
    public func monitoringTransaction<T: Sendable>(for access: Access, _ body: (Connection) async throws -> T) async throws -> T {
        try await transaction(for: access, adding: MonitoringQueries.settings, readOnly: true, body)
    }
}

extension ReportReads {
    /// The same, on the read replica when it may serve it (`ReadReplica`).
    public func monitoringTransaction<T: Sendable>(for access: Access, _ body: (Connection) async throws -> T) async throws -> T {
        try await transaction(for: access, adding: MonitoringQueries.settings, body)
    }
}
