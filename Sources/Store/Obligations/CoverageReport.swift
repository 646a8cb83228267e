import Domain
import Foundation
import Postgres

/// Coverage per branch × rule × period: the population, how many callbacks the rule requires of
/// it, and what became of them. Covered = completed on time + closed as unreachable on time
/// (covered but not reached); coverage % = covered ÷ population. Created tasks never count.
public struct CoverageRow: Sendable, Equatable {
    public var branchId: Int
    public var branchCode: String
    public var ruleCode: String
    public var period: String
    public var population: Int
    public var required: Int
    public var requiredPercent: Decimal
    public var completedOnTime: Int
    public var completedLate: Int
    public var unreachable: Int
    public var cancelled: Int
    public var overdue: Int
    public var open: Int
    public var covered: Int
    /// covered ÷ population × 100, two decimals; nil for an empty population.
    public var coveragePercent: Decimal?
    public var meetsRequirement: Bool

    public static let csvHeader = [
        "branch", "rule", "period", "population", "required", "required_percent", "completed_on_time", "completed_late",
        "unreachable", "cancelled", "overdue", "open", "covered", "coverage_percent", "meets",
    ]

    public var csvFields: [String] {
        [
            branchCode, ruleCode, period, String(population), String(required), requiredPercent.twoDecimals, String(completedOnTime),
            String(completedLate), String(unreachable), String(cancelled), String(overdue), String(open), String(covered),
            coveragePercent?.twoDecimals ?? "", meetsRequirement ? "yes" : "no",
        ]
    }
}

public struct CoverageReport: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// The period labels whose windows overlap `period`: its months, half-years and year.
    static func labels(overlapping period: Period) -> [String] {
        let months = period.months
        var labels = months.map(\.description)
        labels += Set(months.map { $0.halfYear.description }).sorted()
        labels.append(period.wholeYear.description)
        return labels
    }

    /// Rules whose population is a recorded draw; the others' population is one task per member.
    static let drawnRules = ["new_account_ordinary", "core_monthly", "service_half_year", "st_annual"]

    public func rows(for period: Period, branches: [Int]?, branchId: Int?, at now: Date) async throws -> [CoverageRow] {
        let labels = Self.labels(overlapping: period)
        var scope: SQL = .branch("branch_id", in: branches)
        if let branchId { scope = scope + " and branch_id = \(branchId)" }
        let query: SQL =
            """
            with tasks as (
                select branch_id, rule_code, period, count(*)::int as tasks,
                       count(*) filter (where state = 'completed' and closed_at <= due_at)::int as on_time,
                       count(*) filter (where state = 'completed' and closed_at > due_at)::int as late,
                       count(*) filter (where state = 'unreachable')::int as unreachable,
                       count(*) filter (where state = 'unreachable' and closed_at <= due_at)::int as unreachable_on_time,
                       count(*) filter (where state = 'cancelled')::int as cancelled,
                       count(*) filter (where state in ('open', 'assigned', 'in_progress') and due_at < \(now))::int as overdue,
                       count(*) filter (where state in ('open', 'assigned', 'in_progress') and due_at >= \(now))::int as open
                from huifang.callback_tasks
                where
            """ + " " + scope + """
                  and period = any(\(labels))
                group by branch_id, rule_code, period
            ), draws as (
                select branch_id, rule_code, period, sum(population_size)::int as population, sum(required)::int as required
                from huifang.obligation_draws
                where
            """ + " " + scope + """
                  and period = any(\(labels))
                group by branch_id, rule_code, period
            ), rows as (
                select coalesce(t.branch_id, d.branch_id) as branch_id, coalesce(t.rule_code, d.rule_code) as rule_code,
                       coalesce(t.period, d.period) as period,
                       case when coalesce(t.rule_code, d.rule_code) = any(\(Self.drawnRules)) then coalesce(d.population, 0)
                            else coalesce(t.tasks, 0) end as population,
                       case when coalesce(t.rule_code, d.rule_code) = any(\(Self.drawnRules)) then coalesce(d.required, 0)
                            else coalesce(t.tasks, 0) end as required,
                       coalesce(t.on_time, 0) as on_time, coalesce(t.late, 0) as late, coalesce(t.unreachable, 0) as unreachable,
                       coalesce(t.unreachable_on_time, 0) as unreachable_on_time, coalesce(t.cancelled, 0) as cancelled,
                       coalesce(t.overdue, 0) as overdue, coalesce(t.open, 0) as open
                from tasks t
                full join draws d on d.branch_id = t.branch_id and d.rule_code = t.rule_code and d.period = t.period
            )
            select r.branch_id, b.code, r.rule_code, r.period, r.population, r.required,
                   (huifang.rule_in_effect(r.rule_code, lower(huifang.period_range(r.period)))).coverage_percent,
                   r.on_time, r.late, r.unreachable, r.cancelled, r.overdue, r.open, r.on_time + r.unreachable_on_time,
                   case when r.population > 0 then round(100.0 * (r.on_time + r.unreachable_on_time) / r.population, 2) end,
                   r.on_time + r.unreachable_on_time >= r.required
            from rows r
            join huifang.branches b on b.id = r.branch_id
            order by b.code, r.rule_code, r.period
            """
        return try await connection.query(query).map { row in
            CoverageRow(
                branchId: try row.decode(0), branchCode: try row.decode(1), ruleCode: try row.decode(2), period: try row.decode(3),
                population: try row.decode(4), required: try row.decode(5),
                requiredPercent: try row.decode(6, as: Decimal?.self) ?? 100, completedOnTime: try row.decode(7),
                completedLate: try row.decode(8), unreachable: try row.decode(9), cancelled: try row.decode(10),
                overdue: try row.decode(11), open: try row.decode(12), covered: try row.decode(13),
                coveragePercent: try row.decode(14), meetsRequirement: try row.decode(15))
        }
    }
}
