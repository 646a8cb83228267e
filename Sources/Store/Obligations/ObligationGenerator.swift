import Domain
import Foundation
import Postgres

/// Draws the periodic and sampled obligations of a period and creates their tasks: ordinary new
/// accounts per opening day (once the day is over), core clients per month, small/medium and
/// dormant clients per half-year, S&T HQ's brokers and ≥ 10M clients per year, and rule flags for
/// missing key data. Idempotent: a member already drawn for a window is never drawn again, so a
/// second run creates nothing; members that join a window later form its next draw.
///
/// Runs in the scheduler's scope (`huifang.system`, every branch) or as the owner.
public struct ObligationGenerator: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// The transaction settings of the scheduler: the engine's scope over every branch.
    public static let settings: [(name: String, value: String)] = [
        ("huifang.system", "on"), ("huifang.all_branches", "on"), ("huifang.action", "generateObligations"),
    ]

    public struct Line: Sendable, Equatable {
        public var rule: String
        public var windows: [String]
        public var draws: Int
        public var population: Int
        public var tasks: Int
    }

    public enum GenerationError: Error, CustomStringConvertible, Equatable {
        case notStarted(String)
        case notAPeriod(String)
        public var description: String {
            switch self {
            case .notStarted(let period): "period \(period) has not started yet"
            case .notAPeriod(let period): "\(period) is a day; generate a month (2026-11), a half-year (2026-H2) or a year (2026)"
            }
        }
    }

    /// `pg_advisory_xact_lock` key serializing generators (schedulers of several servers, back-fills).
    public static let lockKey: Int64 = 0x6875_6966_6f62_6c67

    /// Generates every window of `period` that has begun by `today` (opening days: that have ended),
    /// after any other generator running now has finished. Without `periodic`, only the opening
    /// days: the cheap part a scheduler repeats often (the periodic windows judge every client's
    /// segment, seconds at a million clients). `openingDaysFrom`, on or before the period's start,
    /// draws the opening days from that day on too (a scheduler catching up, `openingDaysToDraw`).
    public func generate(
        _ period: Period, today: PostgresDate, periodic: Bool = true, openingDaysFrom: PostgresDate? = nil
    ) async throws -> [Line] {
        guard period.kind != .day else { throw GenerationError.notAPeriod(period.description) }
        guard period.startDate <= today else { throw GenerationError.notStarted(period.description) }
        try await connection.query("select pg_advisory_xact_lock(\(Self.lockKey))")
        var lines: [Line] = []
        let months = period.months.filter { $0.startDate <= today }

        // Opening days that are over: [period start (or openingDaysFrom), min(period end, today)).
        let openingStart = min(openingDaysFrom ?? period.startDate, period.startDate)
        let openingEnd = min(period.endDate, today)
        lines.append(try await draw(
            rule: "new_account_ordinary", windows: ["opening days \(openingStart) to \(openingEnd.adding(days: -1))"],
            population: """
                select c.branch_id, to_char(c.opened_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as sample_window,
                       to_char(c.opened_at at time zone 'Asia/Shanghai', 'YYYY-MM') as period,
                       (c.opened_at at time zone 'Asia/Shanghai')::date as window_start, null::date as as_of,
                       'client' as kind, c.id as member_id, 1 as priority, c.opened_at as clock_started_at,
                       c.client_no as label
                from huifang.clients c
                where c.branch_id in (select id from huifang.branches)
                  and c.opened_at >= (\(openingStart)::timestamp at time zone 'Asia/Shanghai')
                  and c.opened_at < (\(openingEnd)::timestamp at time zone 'Asia/Shanghai')
                  and c.referrer_broker_id is null and c.status = 'open'
                """,
            workdays: "r.due_workdays"))

        guard periodic else { return lines }
        for month in months {
            lines.append(try await draw(
                rule: "core_monthly", windows: [month.description],
                population: segmentPopulation(rule: "core_monthly", window: month, where: "s.segment = 'core'", priority: "1"),
                workdays: Self.periodWorkdays))
        }
        for half in Set(months.map(\.halfYear)).sorted(by: { $0.description < $1.description }) {
            lines.append(try await draw(
                rule: "service_half_year", windows: [half.description],
                population: segmentPopulation(
                    rule: "service_half_year", window: half, where: "s.segment in ('small_medium', 'dormant')",
                    priority: "case when s.segment = 'dormant' then 0 else 1 end", withUnclassified: true),
                workdays: Self.periodWorkdays))
        }
        if let year = months.first?.wholeYear {
            lines.append(try await stAnnual(year))
            // Art 16: the evaluating departments' duties to every branch for the year, with their clocks.
            try await connection.query("select huifang.open_evaluation_duties(\(year.start.year))")
        }
        if period.startDate <= today && today < period.endDate {
            lines.append(try await flagMissingPhones())
        }
        let created = lines.filter { $0.tasks > 0 || $0.draws > 0 }
        if !created.isEmpty {
            let summary = created.map { "\($0.rule): \($0.draws) draws, \($0.population) in population, \($0.tasks) tasks" }
            let detail = try JSONB(encoding: ["period": period.description, "today": today.description, "rules": summary.joined(separator: "; ")])
            try await connection.query(
                """
                insert into huifang.audit_events (action, object_type, object_id, detail)
                values ('obligations.generated', 'period', \(period.description), \(detail))
                """)
        }
        return lines
    }

    /// The first opening day a scheduler running on `today` draws: the first of yesterday's month,
    /// so that a member imported late into one of its days is still drawn — or, when the scheduler
    /// was down across that day, the day after the last opening day drawn, so that it catches up.
    /// Yesterday belongs to the window whatever day it is: the last day of a month is drawn on the
    /// first of the next, the last of a year on New Year's Day or whenever the scheduler runs next.
    public func openingDaysToDraw(today: PostgresDate) async throws -> PostgresDate {
        let yesterday = today.adding(days: -1)
        let monthStart = PostgresDate(year: yesterday.year, month: yesterday.month, day: 1)
        // Each branch's last opening day from its own index; the latest of them.
        let last: String? = try await connection.query(
            """
            select max(d.sample_window) from huifang.branches b
            cross join lateral (select sample_window from huifang.obligation_draws
                                where branch_id = b.id and rule_code = 'new_account_ordinary'
                                order by sample_window desc limit 1) d
            """
        ).single().decode(0)
        guard let last, let lastDrawn = PostgresDate(last) else { return monthStart }
        return min(monthStart, lastDrawn.adding(days: 1))
    }

    /// Working days from the period's first day to its last: the deadline is the end of the
    /// period's last working day.
    static let periodWorkdays = "greatest(huifang.workdays_between('cn_workday', w.window_start, w.window_end - 1), 1)"

    /// Open clients of a segment on the last snapshot before the window, opened before it. The
    /// snapshots are read as known when the window was first drawn (`known_at` of its first draw;
    /// now, for that first draw), so a correction entered later never re-judges the window.
    /// `withUnclassified`: clients with no snapshot at all count as small/medium (priority 1).
    private func segmentPopulation(
        rule: String, window: Period, where condition: String, priority: String, withUnclassified: Bool = false
    ) -> SQL {
        let start = window.startDate
        let knownAt: SQL = "(select min(d.known_at) from huifang.obligation_draws d where d.rule_code = \(rule) and d.sample_window = \(window.description))"
        var population: SQL = """
            select s.branch_id, \(window.description) as sample_window, \(window.description) as period,
                   \(start)::date as window_start, \(start)::date - 1 as as_of, 'client' as kind, s.client_id as member_id,
                   \(unescaped: priority) as priority, (\(start)::timestamp at time zone 'Asia/Shanghai') as clock_started_at,
                   c.client_no as label
            from huifang.client_segments(\(start)::date - 1,
            """ + knownAt + """
            ) s
            join huifang.clients c on c.branch_id = s.branch_id and c.id = s.client_id
            where \(unescaped: condition) and c.status = 'open'
              and c.opened_at < (\(start)::timestamp at time zone 'Asia/Shanghai')
            """
        if withUnclassified {
            population = population + """

                union all
                select c.branch_id, \(window.description), \(window.description), \(start)::date, \(start)::date - 1, 'client', c.id, 1,
                       (\(start)::timestamp at time zone 'Asia/Shanghai'), c.client_no
                from huifang.clients c
                where c.status = 'open' and c.branch_id in (select id from huifang.branches)
                  and c.opened_at < (\(start)::timestamp at time zone 'Asia/Shanghai')
                  and not exists (select from huifang.client_asset_snapshots x
                                  where x.branch_id = c.branch_id and x.client_id = c.id and x.as_of < \(start)::date
                                    and x.recorded_at <= coalesce(
                """ + knownAt + """
                , now()))
                """
        }
        return population
    }

    /// Art 3, 11: the branch's active brokers and its clients with ≥ 10M on the last snapshot
    /// before the year; owned by S&T HQ, executed by the call center.
    private func stAnnual(_ year: Period) async throws -> Line {
        let departments = try await connection.query(
            "select " + HQDepartment.first("sales_trading") + ", " + HQDepartment.first("call_center")
        ).single()
        let owner: Int? = try departments.decode(0)
        let executor: Int? = try departments.decode(1)
        guard let owner, let executor else {
            return Line(rule: "st_annual", windows: [], draws: 0, population: 0, tasks: 0)
        }
        let start = year.startDate
        return try await draw(
            rule: "st_annual", windows: [year.description],
            population: segmentPopulation(rule: "st_annual", window: year, where: "s.high_net_worth", priority: "1") + """

                union all
                select b.branch_id, \(year.description), \(year.description), \(start)::date, \(start)::date - 1, 'broker', b.id,
                       1, (\(start)::timestamp at time zone 'Asia/Shanghai'), b.agent_no
                from huifang.brokers b
                where b.status = 'active'
                """,
            workdays: Self.periodWorkdays, ownerDepartment: owner, executorDepartment: executor)
    }

    /// Art 12.2 by rule: an open client without a phone number cannot be called back; flag it for
    /// verification, at most once per 180 days.
    private func flagMissingPhones() async throws -> Line {
        let row = try await connection.query(
            """
            with flagged as (
                insert into huifang.client_flags (branch_id, client_id, fields, reason, source, rule)
                select c.branch_id, c.id, '{phone}', 'no phone number on file', 'rule', 'missing_phone'
                from huifang.clients c
                where c.status = 'open' and c.phone is null
                  and not exists (select from huifang.client_flags f
                                  where f.branch_id = c.branch_id and f.client_id = c.id and f.rule = 'missing_phone'
                                    and f.flagged_at > now() - interval '180 days')
                returning branch_id, id
            )
            select count(*), (select count(*) from huifang.callback_tasks t
                              where (t.branch_id, t.flag_id) in (select branch_id, id from flagged))
            from flagged
            """
        ).single()
        let flags: Int = try row.decode(0)
        return Line(rule: "data_verification", windows: ["missing_phone"], draws: 0, population: flags, tasks: flags)
    }

    /// One set-based pass for a rule: the fresh members of each window (not in an earlier draw of
    /// it) become that window's next draw with a new seed; its first ⌈p·n⌉ members by (priority,
    /// keyed hash) get tasks, whose timers the task triggers start.
    ///
    /// `population` yields (branch_id, sample_window, period, window_start, as_of, kind, member_id,
    /// priority, clock_started_at, label); `workdays` is an expression over the rule version `r`
    /// and the window `w` (window_start, window_end).
    ///
    /// The population and the ranked members go through analyzed temporary tables: from a table
    /// function and freshly inserted draws the planner has no row estimates and picks nested
    /// loops over every pair (minutes at a million clients, where this takes seconds).
    private func draw(
        rule: String, windows: [String], population: SQL, workdays: String, ownerDepartment: Int? = nil,
        executorDepartment: Int? = nil
    ) async throws -> Line {
        try await connection.query("create temp table obligation_population on commit drop as " + population)
        try await connection.run(script: "analyze obligation_population")
        let members: SQL =
            """
            create temp table obligation_members on commit drop as
            with population as (
                select * from obligation_population
            ), windows_seen as (
                select distinct sample_window from obligation_population
            ), drawn as materialized (
                select d.branch_id, d.sample_window, 'client' as kind, unnest(d.population_clients) as member_id
                from huifang.obligation_draws d
                where d.rule_code = \(rule) and d.sample_window in (select sample_window from windows_seen)
                union all
                select d.branch_id, d.sample_window, 'broker', unnest(d.population_brokers)
                from huifang.obligation_draws d
                where d.rule_code = \(rule) and d.sample_window in (select sample_window from windows_seen)
            ), fresh as materialized (
                select p.* from population p
                left join drawn x on x.branch_id = p.branch_id and x.sample_window = p.sample_window
                                 and x.kind = p.kind and x.member_id = p.member_id
                where x.member_id is null
            ), windows as materialized (
                select w.branch_id, w.sample_window, w.size, r.version as rule_version, replace(gen_random_uuid()::text, '-', '') as seed,
                       ceil(r.coverage_percent * w.size / 100)::int as required,
                       coalesce((select max(d.draw_no) from huifang.obligation_draws d
                                 where d.branch_id = w.branch_id and d.rule_code = r.code and d.sample_window = w.sample_window), 0) + 1
                           as draw_no
                from (select branch_id, sample_window, min(window_start) as window_start, count(*)::int as size
                      from fresh group by branch_id, sample_window) w
                cross join lateral huifang.rule_in_effect(\(rule), w.window_start) r
                where r.code is not null
            )
            select f.*, w.size, w.rule_version, w.seed, w.required, w.draw_no,
                   row_number() over (partition by f.branch_id, f.sample_window
                                      order by f.priority, huifang.sample_key(w.seed, f.kind, f.member_id)) as rank
            from fresh f
            join windows w on w.branch_id = f.branch_id and w.sample_window = f.sample_window
            """
        try await connection.query(members)
        try await connection.run(script: "analyze obligation_members")
        // A window judged on asset snapshots keeps, on its first draw, how many of the branch's clients
        // had none before it (the coverage report's "unclassified"), judged as this draw's known_at
        // (now) judges them: counting them again for every report ran past the request deadline.
        let judgesAssets = CoverageReport.assetRules.contains(rule)
        let draws = try await connection.execute(
            """
            insert into huifang.obligation_draws (branch_id, rule_code, rule_version, period, sample_window, draw_no, as_of, seed,
                                                  population_clients, population_brokers, priority_clients, required,
                                                  unclassified_clients)
            select g.branch_id, \(rule), g.rule_version, g.period, g.sample_window, g.draw_no, g.as_of, g.seed,
                   g.clients, g.brokers, g.priority_clients, g.required,
                   case when g.draw_no = 1 and \(judgesAssets) then (
            """ + CoverageReport.unclassifiedCount(branch: "g.branch_id", windowStart: "g.window_start", knownAt: "now()") + """
                   ) end
            from (select branch_id, sample_window, min(rule_version) as rule_version, min(period) as period, min(draw_no) as draw_no,
                         min(as_of) as as_of, min(seed) as seed, min(window_start) as window_start, min(required) as required,
                         coalesce(array_agg(member_id order by member_id) filter (where kind = 'client'), '{}') as clients,
                         coalesce(array_agg(member_id order by member_id) filter (where kind = 'broker'), '{}') as brokers,
                         coalesce(array_agg(member_id order by member_id) filter (where kind = 'client' and priority = 0), '{}')
                             as priority_clients
                  from obligation_members
                  group by branch_id, sample_window) g
            """)
        let row = try await connection.query(
            """
            with tasks as (
                insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, draw_id, client_id,
                                                    broker_id, title, owner_role, owner_department_id, executor_department_id,
                                                    clock_started_at, clock_workdays)
                select m.branch_id, r.code, r.version, m.period, m.sample_window, d.id,
                       case when m.kind = 'client' then m.member_id end, case when m.kind = 'broker' then m.member_id end,
                       r.title || ': ' || m.label, r.owner_role, \(ownerDepartment)::int, \(executorDepartment)::int,
                       m.clock_started_at, \(unescaped: workdays)
                from obligation_members m
                join huifang.obligation_draws d
                  on d.branch_id = m.branch_id and d.rule_code = \(rule) and d.sample_window = m.sample_window and d.draw_no = m.draw_no
                join huifang.obligation_rules r on r.code = \(rule) and r.version = m.rule_version
                cross join lateral (select m.window_start, upper(huifang.period_range(m.period)) as window_end) w
                where m.rank <= m.required
                returning 1
            )
            select (select count(*) from obligation_members)::bigint, (select count(*) from tasks)::bigint
            """
        ).single()
        try await connection.run(script: "drop table obligation_members; drop table obligation_population")
        return Line(rule: rule, windows: windows, draws: draws, population: try row.decode(0), tasks: try row.decode(1))
    }
}

extension Period {
    public var startDate: PostgresDate { PostgresDate(year: start.year, month: start.month, day: start.day) }
    /// The day after the period.
    public var endDate: PostgresDate { PostgresDate(year: end.year, month: end.month, day: end.day) }
}
