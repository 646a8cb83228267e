import Domain
import Foundation
import Postgres

/// Coverage per branch × rule × period, as BRIEF §3 counts it: a callback covers a member when the
/// call was completed by its deadline **and** its record is countersigned (Art 5, 12). Unreachable
/// members were not called back: they are their own column and count in `attemptedPercent`, never
/// in coverage. The population comes from the facts (draws, accounts opened, flags raised,
/// directive targets), so a member that never got a task is a gap: population minus the task
/// columns.
public struct CoverageRow: Sendable, Equatable {
    public var branchId: Int
    public var branchCode: String
    public var ruleCode: String
    public var period: String
    public var population: Int
    public var required: Int
    public var requiredPercent: Decimal
    /// Called by the deadline, record countersigned.
    public var completedOnTime: Int
    /// Called after the deadline, record countersigned.
    public var completedLate: Int
    /// Called (the task is completed) but the record is not countersigned: submitted, or returned.
    public var awaitingSignoff: Int
    public var unreachable: Int
    public var cancelled: Int
    /// Open tasks past their deadline.
    public var overdue: Int
    /// Open tasks not yet due.
    public var open: Int
    /// Open clients of the branch with no asset snapshot before the window, for the rules judged on
    /// assets (core, half-yearly service, S&T annual); nil for the other rules.
    public var unclassified: Int?
    /// completed on time ÷ population × 100, two decimals; nil for an empty population.
    public var coveragePercent: Decimal?
    /// (completed, on time or late or awaiting sign-off, + unreachable) ÷ population × 100.
    public var attemptedPercent: Decimal?
    /// Completed on time ≥ required.
    public var met: Bool

    public static let csvHeader = [
        "branch", "rule", "period", "population", "required", "required_percent", "completed_on_time", "completed_late",
        "awaiting_signoff", "unreachable", "cancelled", "overdue", "open", "unclassified", "coverage_percent", "attempted_percent", "met",
    ]

    public var csvFields: [String] {
        [
            branchCode, ruleCode, period, String(population), String(required), requiredPercent.twoDecimals, String(completedOnTime),
            String(completedLate), String(awaitingSignoff), String(unreachable), String(cancelled), String(overdue), String(open),
            unclassified.map(String.init) ?? "", coveragePercent?.twoDecimals ?? "", attemptedPercent?.twoDecimals ?? "",
            met ? "yes" : "no",
        ]
    }
}

public struct CoverageReport: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// The report's transaction settings: planned for each period (Pool.customPlans).
    public static let settings = Pool.customPlans

    /// The period labels whose windows overlap `period`: its months, half-years and year.
    static func labels(overlapping period: Period) -> [String] {
        let months = period.months
        var labels = months.map(\.description)
        labels += Set(months.map { $0.halfYear.description }).sorted()
        labels.append(period.wholeYear.description)
        return labels
    }

    /// The branches in scope, narrowed to one when asked.
    static func scope(_ column: String, branches: [Int]?, branchId: Int?) -> SQL {
        var scope: SQL = .branch(column, in: branches)
        if let branchId { scope = scope + " and \(unescaped: column) = \(branchId)" }
        return scope
    }

    /// Rules whose population is a recorded draw.
    static let drawnRules = ["new_account_ordinary", "core_monthly", "service_half_year", "st_annual"]
    /// Rules whose population is judged on asset snapshots: their rows say how many clients had none.
    static let assetRules = ["core_monthly", "service_half_year", "st_annual"]

    /// The "unclassified" of a window: `branch`'s clients open at `windowStart` (a date), opened
    /// before it, with no asset snapshot before it known at `knownAt` — columns or expressions of
    /// the query around it. Judged on a window's first draw and kept there (0058).
    static func unclassifiedCount(branch: String, windowStart: String, knownAt: String) -> SQL {
        """
        select count(*)::int
        from huifang.clients c
        where c.branch_id = \(unescaped: branch)
          and c.opened_at < (\(unescaped: windowStart)::timestamp at time zone 'Asia/Shanghai')
          and (c.closed_at is null or c.closed_at >= (\(unescaped: windowStart)::timestamp at time zone 'Asia/Shanghai'))
          and not exists (select from huifang.client_asset_snapshots s
                          where s.branch_id = c.branch_id and s.client_id = c.id
                            and s.as_of < \(unescaped: windowStart) and s.recorded_at <= \(unescaped: knownAt))
        """
    }

    public func rows(for period: Period, branches: [Int]?, branchId: Int?, at now: Date) async throws -> [CoverageRow] {
        let labels = Self.labels(overlapping: period)
        func scope(_ column: String) -> SQL { Self.scope(column, branches: branches, branchId: branchId) }
        // The period's months in Shanghai, for the populations counted from facts (their tasks' period
        // is the month of the opening, the flag or the directive's due date).
        let start = period.startDate, end = period.endDate
        // The tasks are kept per branch, period, rule, standing and deadline (sql/0061); open tasks
        // are overdue or not by the hour of the report.
        let query: SQL =
            """
            with tasks as (
                select k.branch_id, k.rule_code, k.period,
                       coalesce(sum(k.tasks) filter (where k.standing = 'on_time'), 0)::int as on_time,
                       coalesce(sum(k.tasks) filter (where k.standing = 'late'), 0)::int as late,
                       coalesce(sum(k.tasks) filter (where k.standing = 'awaiting'), 0)::int as awaiting,
                       coalesce(sum(k.tasks) filter (where k.standing = 'unreachable'), 0)::int as unreachable,
                       coalesce(sum(k.tasks) filter (where k.standing = 'cancelled'), 0)::int as cancelled,
                       coalesce(sum(k.tasks) filter (where k.standing = 'open' and k.due_at < \(now)), 0)::int as overdue,
                       coalesce(sum(k.tasks) filter (where k.standing = 'open' and k.due_at >= \(now)), 0)::int as open
                from huifang.coverage_task_counts k
                where
            """ + " " + scope("k.branch_id") + """
                  and k.period = any(\(labels))
                group by k.branch_id, k.rule_code, k.period
                having sum(k.tasks) > 0
            ), draws as (
                select branch_id, rule_code, period, sum(population_size)::int as population, sum(required)::int as required
                from huifang.obligation_draws
                where
            """ + " " + scope("branch_id") + """
                  and period = any(\(labels)) and rule_code = any(\(Self.drawnRules))
                group by branch_id, rule_code, period
            ), facts as (
                -- Art 12.1(1): every broker-introduced account opened in the period, 100 %.
                select c.branch_id, 'new_account_broker' as rule_code,
                       to_char(c.opened_at at time zone 'Asia/Shanghai', 'YYYY-MM') as period, count(*)::int as population,
                       count(*)::int as required
                from huifang.clients c
                where
            """ + " " + scope("c.branch_id") + """
                  and c.referrer_broker_id is not null
                  and c.opened_at >= (\(start)::timestamp at time zone 'Asia/Shanghai')
                  and c.opened_at < (\(end)::timestamp at time zone 'Asia/Shanghai')
                group by 1, 2, 3
                union all
                -- Art 12.2: every flag raised in the period.
                select f.branch_id, 'data_verification', to_char(f.flagged_at at time zone 'Asia/Shanghai', 'YYYY-MM'),
                       count(*)::int, count(*)::int
                from huifang.client_flags f
                where
            """ + " " + scope("f.branch_id") + """
                  and f.flagged_at >= (\(start)::timestamp at time zone 'Asia/Shanghai')
                  and f.flagged_at < (\(end)::timestamp at time zone 'Asia/Shanghai')
                group by 1, 2, 3
                union all
                -- Art 10, 12.3: every target of the directives due in the period; a cancelled directive's
                -- targets stay in the population but are no longer required.
                select x.branch_id, 'special', to_char(d.due_on, 'YYYY-MM'), count(*)::int,
                       count(*) filter (where d.status <> 'cancelled')::int
                from huifang.directive_targets x
                join huifang.directives d on d.id = x.directive_id
                where
            """ + " " + scope("x.branch_id") + """
                  and d.due_on >= \(start) and d.due_on < \(end)
                group by 1, 2, 3
                union all
                -- Art 10, 12.3: every client event of the period that its event rule requires a callback for.
                select e.branch_id, e.rule_code, to_char(e.occurred_at at time zone 'Asia/Shanghai', 'YYYY-MM'),
                       count(*)::int, count(*)::int
                from huifang.client_events e
                where
            """ + " " + scope("e.branch_id") + """
                  and e.qualifies
                  and e.occurred_at >= (\(start)::timestamp at time zone 'Asia/Shanghai')
                  and e.occurred_at < (\(end)::timestamp at time zone 'Asia/Shanghai')
                group by 1, 2, 3
            ), populations as (
                select * from draws union all select * from facts
            ), windows as materialized (
                -- Each rule's window start and required % once per rule and period label, not per
                -- row: on 13,648 rows (HQ's year) the two function calls cost 370 ms.
                select q.code as rule_code, p.period, p.window_start, (huifang.rule_in_effect(q.code, p.window_start)).coverage_percent
                from (select label as period, lower(huifang.period_range(label)) as window_start from unnest(\(labels)::text[]) label) p
                cross join (select distinct code from huifang.obligation_rules) q
            ), rows as (
                select coalesce(t.branch_id, p.branch_id) as branch_id, coalesce(t.rule_code, p.rule_code) as rule_code,
                       coalesce(t.period, p.period) as period, coalesce(p.population, 0) as population,
                       coalesce(p.required, 0) as required,
                       coalesce(t.on_time, 0) as on_time, coalesce(t.late, 0) as late, coalesce(t.awaiting, 0) as awaiting,
                       coalesce(t.unreachable, 0) as unreachable, coalesce(t.cancelled, 0) as cancelled,
                       coalesce(t.overdue, 0) as overdue, coalesce(t.open, 0) as open
                from tasks t
                full join populations p on p.branch_id = t.branch_id and p.rule_code = t.rule_code and p.period = t.period
            ), asset_windows as (
                -- Judged as the window's draws judged it: on the snapshots known at its first draw, which
                -- kept the figure (0058); `judged` is null only where no draw of it kept one.
                select r.branch_id, w.window_start,
                       coalesce(min(d.known_at), now()) as known_at,
                       (array_agg(d.unclassified_clients order by d.known_at, d.id) filter (where d.draw_no = 1))[1] as judged
                from rows r
                join windows w on w.rule_code = r.rule_code and w.period = r.period
                left join huifang.obligation_draws d
                  on d.branch_id = r.branch_id and d.rule_code = r.rule_code and d.sample_window = r.period
                where r.rule_code = any(\(Self.assetRules))
                group by 1, 2
            ), unclassified as (
                -- Open at the window's start, opened before it, and no snapshot before it: no segment to judge.
                -- The clients that arrived after the judging have no snapshot known then (a snapshot is
                -- recorded after its client), so they add to the kept figure as they are; only one written
                -- in a later month than it was opened can be one (clients_arrived_late, 0058).
                select w.branch_id, w.window_start,
                       case when w.judged is not null then w.judged + (
                           select count(*)::int
                           from huifang.clients c
                           where c.branch_id = w.branch_id and c.created_at > w.known_at
                             and c.opened_at < (date_trunc('month', c.created_at at time zone 'Asia/Shanghai') at time zone 'Asia/Shanghai')
                             and c.opened_at < (w.window_start::timestamp at time zone 'Asia/Shanghai')
                             and (c.closed_at is null or c.closed_at >= (w.window_start::timestamp at time zone 'Asia/Shanghai')))
                       else (
            """ + Self.unclassifiedCount(branch: "w.branch_id", windowStart: "w.window_start", knownAt: "w.known_at") + """
                       )
                       end as clients
                from asset_windows w
            ), unclassified_map as (
                -- As one map from (branch, window start): joined, the windows' figures were estimated
                -- at a row or two, and the month's 700 rows were each compared with all 350 (40 ms).
                select jsonb_object_agg(u.branch_id || ' ' || u.window_start, u.clients) as clients from unclassified u
            )
            select r.branch_id, b.code, r.rule_code, r.period, r.population, r.required,
                   w.coverage_percent,
                   r.on_time, r.late, r.awaiting, r.unreachable, r.cancelled, r.overdue, r.open,
                   case when r.rule_code = any(\(Self.assetRules)) then coalesce((u.clients ->> (r.branch_id || ' ' || w.window_start))::int, 0) end,
                   case when r.population > 0 then round(100.0 * r.on_time / r.population, 2) end,
                   case when r.population > 0 then round(100.0 * (r.on_time + r.late + r.awaiting + r.unreachable) / r.population, 2) end,
                   r.on_time >= r.required
            from rows r
            join huifang.branches b on b.id = r.branch_id
            left join windows w on w.rule_code = r.rule_code and w.period = r.period
            cross join unclassified_map u
            order by b.code, r.rule_code, r.period
            """
        return try await connection.query(query).map { row in
            CoverageRow(
                branchId: try row.decode(0), branchCode: try row.decode(1), ruleCode: try row.decode(2), period: try row.decode(3),
                population: try row.decode(4), required: try row.decode(5),
                requiredPercent: try row.decode(6, as: Decimal?.self) ?? 100, completedOnTime: try row.decode(7),
                completedLate: try row.decode(8), awaitingSignoff: try row.decode(9), unreachable: try row.decode(10),
                cancelled: try row.decode(11), overdue: try row.decode(12), open: try row.decode(13), unclassified: try row.decode(14),
                coveragePercent: try row.decode(15), attemptedPercent: try row.decode(16), met: try row.decode(17))
        }
    }

    /// The windows of `period` judged on asset snapshots that were corrected after the window was
    /// first drawn: those corrections do not re-judge it, and a reader of its figures should know.
    public struct CorrectedWindow: Sendable, Equatable {
        public var branchCode: String
        public var ruleCode: String
        public var window: String
        public var corrections: Int
    }

    public func correctionsAfterJudging(for period: Period, branches: [Int]?, branchId: Int?) async throws -> [CorrectedWindow] {
        let scope = Self.scope("d.branch_id", branches: branches, branchId: branchId)
        return try await connection.query(
            """
            with judged as (
                select d.branch_id, d.rule_code, d.sample_window, min(d.known_at) as known_at, max(d.as_of) as as_of
                from huifang.obligation_draws d
                where
            """ + " " + scope + """
                  and d.period = any(\(Self.labels(overlapping: period))) and d.rule_code = any(\(Self.assetRules))
                group by 1, 2, 3
            )
            select b.code, j.rule_code, j.sample_window, count(*)::int
            from judged j
            join huifang.client_asset_snapshots s
              on s.branch_id = j.branch_id and s.revision > 1 and s.as_of <= j.as_of and s.recorded_at > j.known_at
            join huifang.branches b on b.id = j.branch_id
            group by 1, 2, 3
            order by 1, 2, 3
            """
        ).map {
            CorrectedWindow(branchCode: try $0.decode(0), ruleCode: try $0.decode(1), window: try $0.decode(2), corrections: try $0.decode(3))
        }
    }
}
