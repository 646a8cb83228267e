import Foundation
import Postgres

extension MonitoringQueries {
    /// A month's SLA figures for one unit, counted as Jira Service Management and ServiceNow count
    /// them (BRIEF §3): the clocks that stopped in the month — met when by their deadline, else
    /// breached — and the clocks still open whose deadline passed in it, breached while open. A
    /// forwarding sent back as not ours (misrouted) had its 2 working days like any other: it is
    /// met or breached as its stop falls, and counted apart as well.
    public struct Compliance: Sendable, Equatable {
        /// A department (forwardings: the functional one; problems: the HQ one) or a branch.
        public var id: Int
        public var code: String
        /// Stopped in the month by the deadline.
        public var met: Int
        /// Stopped in the month after the deadline.
        public var breachedStopped: Int
        /// Still open, the deadline passed in the month.
        public var breachedOpen: Int
        /// Of those stopped, the forwardings sent back as not ours (also in met or breachedStopped).
        public var misrouted: Int
        /// Median and p90 working days the clocks stopped in the month ran.
        public var medianWorkdays: Double?
        public var p90Workdays: Double?
        public var total: Int { met + breachedStopped + breachedOpen }
        public var share: Double? { total == 0 ? nil : Double(met) / Double(total) }
    }

    /// The 2-working-day clocks of forwardings in `month`, per functional department, answered or
    /// sent back as not theirs. Read from the clocks: each keeps its department, its deadline and,
    /// once stopped, the working days it ran (counted from the clock's start, as its deadline is).
    public func forwardingCompliance(month: String, branches: [Int]?) async throws -> [Compliance] {
        try await compliance(Self.forwardingComplianceSQL(month: month, branches: branches, now: now)).byDepartment
    }

    static func forwardingComplianceSQL(month: String, branches: [Int]?, now: Date) -> SQL {
        slaSQL(kind: .forwarding, byBranchToo: false, month: month, branches: branches, now: now)
    }

    /// The 15-working-day clocks of problems in `month`, per HQ department and per branch, from one
    /// walk of the month's clocks (a walk for each took as long again).
    public func problemCompliance(month: String, branches: [Int]?) async throws -> (byDepartment: [Compliance], byBranch: [Compliance]) {
        try await compliance(Self.problemComplianceSQL(month: month, branches: branches, now: now))
    }

    static func problemComplianceSQL(month: String, branches: [Int]?, now: Date) -> SQL {
        slaSQL(kind: .problem, byBranchToo: true, month: month, branches: branches, now: now)
    }

    /// The clocks an SLA figure is about. The kind is written into the statement, not bound, so the
    /// planner matches the partial index timers_sla_by_month with a generic plan.
    enum SLAKind: String {
        case forwarding = "problem_forwarding"
        case problem
    }

    /// How a forwarding's clock stops when its department sends it back as not theirs
    /// (huifang.problem_forwardings_after, sql/definitions/80_problems.sql).
    static let misroutedStop = "sent back as not ours"

    /// A month's SLA clocks of `kind`: per branch, one range of timers_sla_by_month — each clock in
    /// the month of its stop or, while it runs, of its deadline, kept when that deadline has passed
    /// by `now` — counted per department (and per branch when `byBranchToo`) and working days run,
    /// one row per unit and number of working days, each unit's rows in that order (a unit's open
    /// clocks, which ran no working days yet, last). A deadline passes at its instant, 00:00
    /// Shanghai after its last working day: a clock due by the end of 30 November and still open
    /// is breached from 1 December, in December's figures, where a late stop that month counts it
    /// too. Columns: of a department, unit id, unit code, working days, met, late, open, misrouted,
    /// stopped (those with working days).
    ///
    /// The counts are integers added in one pass of grouping sets; the percentiles are read from
    /// them in Swift (`figures`). Sorting every clock for percentile_cont, once per grouping, and
    /// joining each to its department took 230 ms of November's 61,000 problem clocks nationally.
    private static func slaSQL(kind: SLAKind, byBranchToo: Bool, month: String, branches: [Int]?, now: Date) -> SQL {
        let branchScope: SQL = branches.map { "select id, code from huifang.branches where id = any(\($0))" }
            ?? "select id, code from huifang.branches"
        let unit: SQL = byBranchToo
            ? "grouping(t.department_id) = 0 as of_department, coalesce(t.department_id, b.id) as id, b.code as branch_code"
            : "true as of_department, t.department_id as id, null::text as branch_code"
        // The departments' rows are those of clocks with a department.
        let grouping: SQL = byBranchToo
            ? " group by grouping sets ((t.department_id, t.stopped_workdays), (b.id, b.code, t.stopped_workdays))"
                + " having grouping(t.department_id) = 1 or t.department_id is not null"
            : " group by t.department_id, t.stopped_workdays having t.department_id is not null"
        // The index's expression as it has it; both ends of the month are Shanghai midnights. What is
        // counted lies before now too (an open clock counts once its deadline passed; a stop this
        // statement sees began before it), so the walk of the current month ends there, an hour on
        // for a replica's clock: the month's deadlines still to come were read and dropped (54,000
        // of 66,000 entries in early December, nationally).
        let key = "(case when t.stopped_at is null then t.due_at else t.stopped_at end)"
        return "with b as (" + branchScope + "), histogram as (select " + unit + ", t.stopped_workdays as workdays, " + """
                count(*) filter (where t.stopped_at <= t.due_at) as met, count(*) filter (where t.stopped_at > t.due_at) as late,
                count(*) filter (where t.stopped_at is null) as open,
                count(*) filter (where t.stop_reason = \(misroutedStop)) as misrouted, count(t.stopped_workdays) as stopped
                from b join huifang.timers t on t.branch_id = b.id
                where t.subject_kind = '\(unescaped: kind.rawValue)' and (t.stopped_at is not null or t.due_at <= \(now)::timestamptz) and
            """ + " " + inMonth(key, month) + " and \(unescaped: key) <= greatest(\(now)::timestamptz, statement_timestamp()) + interval '1 hour'"
            + grouping + ") select h.of_department, h.id, coalesce(d.code, h.branch_code) as code, h.workdays::int, h.met::int,"
            + " h.late::int, h.open::int, h.misrouted::int, h.stopped::int from histogram h"
            + " left join huifang.departments d on h.of_department and d.id = h.id where not h.of_department or d.id is not null"
            + " order by h.of_department desc, code, h.id, h.workdays"
    }

    /// Each unit's figures from its rows of `slaSQL`, split by whether the unit is a department.
    private func compliance(_ query: SQL) async throws -> (byDepartment: [Compliance], byBranch: [Compliance]) {
        var units: [(ofDepartment: Bool, figures: Compliance, workdays: [(days: Int, clocks: Int)])] = []
        for row in try await connection.query(query) {
            let ofDepartment: Bool = try row.decode(0), id: Int = try row.decode(1)
            if units.last.map({ $0.ofDepartment != ofDepartment || $0.figures.id != id }) ?? true {
                units.append((ofDepartment, Compliance(id: id, code: try row.decode(2), met: 0, breachedStopped: 0, breachedOpen: 0, misrouted: 0), []))
            }
            let last = units.count - 1
            units[last].figures.met += try row.decode(4, as: Int.self)
            units[last].figures.breachedStopped += try row.decode(5, as: Int.self)
            units[last].figures.breachedOpen += try row.decode(6, as: Int.self)
            units[last].figures.misrouted += try row.decode(7, as: Int.self)
            if let days = try row.decode(3, as: Int?.self) { units[last].workdays.append((days, try row.decode(8))) }
        }
        let figures = units.map { unit in
            var figures = unit.figures
            figures.medianWorkdays = Self.percentile(0.5, of: unit.workdays)
            figures.p90Workdays = Self.percentile(0.9, of: unit.workdays)
            return (unit.ofDepartment, figures)
        }
        return (figures.filter { $0.0 }.map(\.1), figures.filter { !$0.0 }.map(\.1))
    }

    /// PostgreSQL's percentile_cont of the values `histogram` counts (ascending): the values at
    /// ranks floor and ceil of p × (n − 1), 0-based, interpolated as it does; nil for none.
    static func percentile(_ p: Double, of histogram: [(days: Int, clocks: Int)]) -> Double? {
        let n = histogram.reduce(0) { $0 + $1.clocks }
        guard n > 0 else { return nil }
        let rank = p * Double(n - 1)
        func value(at index: Int) -> Double {
            var seen = 0
            for entry in histogram {
                seen += entry.clocks
                if seen > index { return Double(entry.days) }
            }
            return Double(histogram.last!.days)
        }
        let low = value(at: Int(rank.rounded(.down))), high = value(at: Int(rank.rounded(.up)))
        return low + (rank - rank.rounded(.down)) * (high - low)
    }
}
