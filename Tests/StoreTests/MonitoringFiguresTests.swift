import Domain
import Foundation
import Postgres
import Testing
import TestSupport

@testable import Store

/// Every monitoring figure on a data set small enough to count by hand: three branches, two HQ
/// departments (BOC, RISK) taking thirteen problems, two functional departments (IT, LEGAL) taking
/// eleven forwardings, September 2026 across Mid-Autumn (Fri 25 Sep) and National Day (1–7 Oct,
/// with Sun 20 Sep and Sat 10 Oct worked). The expected numbers below were worked out on paper
/// from the official calendar; the comments show the count. Read at Thu 22 Oct 2026, 10:00 Shanghai.
///
/// A month's SLA figures count the clocks that stopped in it (met by the deadline, else breached)
/// and the clocks still open whose deadline — the instant 00:00 after the last working day — passed
/// in it (breached while open); a forwarding sent back as not ours counts like an answer, and apart.
@Suite("Monitoring figures equal the hand-computed ones, and a branch reader gets only its own branch")
struct MonitoringFiguresTests {
    static let now = ISO8601DateFormatter().date(from: "2026-10-22T02:00:00Z")!

    /// (n, branch, raiser, department, raised, closed or nil, state, rejected)
    static let problems: [(Int, String, String, String, String, String?, String, Bool)] = [
        // Sep 21 → Oct 9: Sep 22, 23, 24, 28, 29, 30, Oct 8, 9 = 8 days; due Oct 19.
        (1, "BJ001", "rpA", "BOC", "2026-09-21 10:00+08", "2026-10-09 15:00+08", "closed", false),
        // Sep 30 → Oct 21: Oct 8, 9, 10, 12–16, 19, 20, 21 = 11; due Oct 27.
        (2, "BJ001", "rpA", "BOC", "2026-09-30 09:00+08", "2026-10-21 11:00+08", "closed", false),
        // Sep 29 → Oct 27: 16; due Oct 26, so late. Rejected by HQ, relayed, closed.
        (3, "BJ001", "deskA", "RISK", "2026-09-29 10:00+08", "2026-10-27 11:00+08", "closed", true),
        // Still in triage: at risk on Oct 22 (past 75 % of its 15 days, due Oct 26), not overdue.
        (4, "BJ001", "deskA", "BOC", "2026-09-29 10:00+08", nil, "in_triage", false),
        // Sep 28 → Oct 8: Sep 29, 30, Oct 8 = 3.
        (5, "SH001", "deskB", "BOC", "2026-09-28 14:00+08", "2026-10-08 10:00+08", "closed", false),
        // Raised on Saturday Sep 26 → Oct 16: Sep 28, 29, 30, Oct 8, 9, 10, 12–16 = 11; due Oct 22.
        (6, "SH001", "deskB", "RISK", "2026-09-26 11:00+08", "2026-10-16 16:00+08", "closed", false),
        // Sep 16 → Oct 15: 17; due Oct 13 (Sep 17, 18, 20–24, 28–30, Oct 8–10, 12, 13), so late.
        (7, "SH001", "deskB", "RISK", "2026-09-16 10:00+08", "2026-10-15 10:00+08", "closed", false),
        // Closed the hour it was raised: 0.
        (8, "SH001", "deskB", "BOC", "2026-09-24 16:00+08", "2026-09-24 17:00+08", "closed", false),
        // 23:30 on Sep 30 → Oct 8: 1.
        (9, "GZ001", "rpC", "RISK", "2026-09-30 23:30+08", "2026-10-08 09:00+08", "closed", false),
        // 00:30 on Sep 1 (still Aug 31 in UTC, September in Shanghai) → Sep 22: 16; due Sep 21, so late.
        (10, "GZ001", "rpC", "BOC", "2026-09-01 00:30+08", "2026-09-22 10:00+08", "closed", false),
        // 00:30 on Oct 1 (Sep 30 in UTC): an October problem, in none of September's figures.
        (11, "GZ001", "rpC", "RISK", "2026-10-01 00:30+08", "2026-10-09 10:00+08", "closed", false),
        // Sep 18 → Oct 16: 16; due Oct 15, so late.
        (12, "GZ001", "rpC", "BOC", "2026-09-18 10:00+08", "2026-10-16 10:00+08", "closed", false),
        // Mon Aug 31 → still open: Sep 1–4, 7–11, 14–18 and the worked Sunday 20 = 15, due by the end
        // of Sep 20 (00:00 Sep 21): breached while open in September; 19 working days overdue on Oct 22
        // (Sep 21–24, 28–30, Oct 8–10, 12–16, 19–22).
        (13, "GZ001", "rpC", "RISK", "2026-08-31 10:00+08", nil, "in_triage", false),
    ]

    /// (n, branch, problem n, department, received, answered or sent back (nil: neither), misrouted)
    static let forwardings: [(Int, String, Int, String, String, String?, Bool)] = [
        // Sep 30 16:00 → Oct 9: 2; due Oct 9. Stopped on time in October.
        (1, "BJ001", 1, "IT", "2026-09-30 16:00+08", "2026-10-09 10:00+08", false),
        // Sep 24 → Sep 28 across Mid-Autumn: 1; due Sep 29. Stopped on time in September.
        (2, "BJ001", 2, "IT", "2026-09-24 10:00+08", "2026-09-28 10:00+08", false),
        // Sep 29 → Oct 8 across National Day: Sep 30, Oct 8 = 2; due Oct 8. Stopped on time in October.
        (3, "SH001", 5, "IT", "2026-09-29 10:00+08", "2026-10-08 10:00+08", false),
        // Sep 21 → answered on Saturday Sep 26: 3; due Sep 23. Stopped late in September.
        (4, "SH001", 6, "LEGAL", "2026-09-21 10:00+08", "2026-09-26 10:00+08", false),
        // Sep 16 → Sep 17: 1; due Sep 18. Stopped on time in September.
        (5, "GZ001", 9, "LEGAL", "2026-09-16 10:00+08", "2026-09-17 10:00+08", false),
        // Sent back as not theirs the next day: 1; due Sep 18. Misrouted on time in September.
        (6, "GZ001", 10, "LEGAL", "2026-09-16 10:00+08", "2026-09-17 10:00+08", true),
        // Never answered: due Oct 9 (00:00 Oct 10), 10 working days overdue on Oct 22 (Oct 10, 12–16, 19–22).
        // Breached while open in October.
        (7, "GZ001", 12, "IT", "2026-09-30 16:00+08", nil, false),
        // Received on Saturday Oct 31 → Mon Nov 2: 1; due Nov 3. Stopped on time in November.
        (8, "GZ001", 11, "LEGAL", "2026-10-31 10:00+08", "2026-11-02 10:00+08", false),
        // Mon Sep 14 → sent back as not theirs on Fri Sep 18: Sep 15–18 = 4; due Sep 16. Misrouted
        // late in September: a breach for LEGAL all the same.
        (9, "GZ001", 13, "LEGAL", "2026-09-14 10:00+08", "2026-09-18 10:00+08", true),
        // Wed Oct 21 15:00, open: due Oct 23 (00:00 Oct 24), not yet due on Oct 22, in no figure.
        (10, "BJ001", 4, "IT", "2026-10-21 15:00+08", nil, false),
        // Forwarded again after the misroute, Mon Sep 21 14:00, never answered: due Sep 23 (00:00 Sep 24).
        // Breached while open in September; 16 working days overdue on Oct 22 (Sep 24, 28–30, Oct 8–10, 12–16, 19–22).
        (11, "GZ001", 13, "IT", "2026-09-21 14:00+08", nil, false),
    ]

    @Test func everyFigureEqualsTheHandComputedOne() async throws {
        try await TestDatabase.with { database in
            let org = try await database.withPool { try await Self.load(into: $0) }
            let hq = Access(staffId: org.staff["auditor"]!, action: .readMonitoring, branchIds: [], allBranches: true, organization: false)
            try await database.withPool(database.application) { pool in
                try await pool.transaction(for: hq, readOnly: true) { db in
                    let queries = MonitoringQueries(db, now: Self.now)

                    // Each row: met, breached stopped, breached open, misrouted; then the working days
                    // of the stopped ones. share = met ÷ (met + breached stopped + breached open).
                    let forwardings = try await queries.forwardingCompliance(month: "2026-09", branches: nil)
                    #expect(forwardings.map(\.code) == ["IT", "LEGAL"])
                    // IT: 2 met (1); 11 open past its deadline of Sep 23. Total 2, share 1/2.
                    // LEGAL: 5, 6 met (1, 1, 6 misrouted); 4 late (3); 9 misrouted late (4). Total 4, share 2/4.
                    #expect(Self.figures(forwardings) == [[1, 0, 1, 0], [2, 2, 0, 2]])
                    #expect(forwardings.map(\.total) == [2, 4] && forwardings.map(\.share) == [0.5, 0.5])
                    // IT: 1. LEGAL: 1, 1, 3, 4 — median 2, p90 3 + 0.7 × (4 − 3) = 3.7.
                    #expect(forwardings.map(\.medianWorkdays) == [1, 2])
                    #expect(Self.rounded(forwardings.map(\.p90Workdays)) == [1, 3.7])

                    let octoberForwardings = try await queries.forwardingCompliance(month: "2026-10", branches: nil)
                    // IT: 1, 3 met (2, 2); 7 open past its deadline of Oct 9; 10 open, not yet due: not
                    // counted. LEGAL: nothing stopped or due in October (8 stopped in November).
                    #expect(octoberForwardings.map(\.code) == ["IT"] && Self.figures(octoberForwardings) == [[2, 0, 1, 0]])
                    #expect(octoberForwardings.first?.medianWorkdays == 2 && octoberForwardings.first?.p90Workdays == 2)
                    let novemberForwardings = try await queries.forwardingCompliance(month: "2026-11", branches: nil)
                    #expect(novemberForwardings.map(\.code) == ["LEGAL"] && Self.figures(novemberForwardings) == [[1, 0, 0, 0]])

                    let byDepartment = try await queries.problemCompliance(month: "2026-09", branches: nil).byDepartment
                    #expect(byDepartment.map(\.code) == ["BOC", "RISK"])
                    // BOC: 8 met (0), 10 late (16). RISK: 13 open past its deadline of Sep 20.
                    #expect(Self.figures(byDepartment) == [[1, 1, 0, 0], [0, 0, 1, 0]])
                    #expect(byDepartment.map(\.share) == [0.5, 0])
                    // BOC: 0, 16 — median 8, p90 0.9 × 16 = 14.4. RISK: nothing stopped.
                    #expect(byDepartment.map(\.medianWorkdays) == [8, nil])
                    #expect(Self.rounded(byDepartment.map(\.p90Workdays)) == [14.4, nil])

                    let byBranch = try await queries.problemCompliance(month: "2026-09", branches: nil).byBranch
                    // GZ001: 10 late (16), 13 open past its deadline. SH001: 8 met (0). BJ001: nothing.
                    #expect(byBranch.map(\.code) == ["GZ001", "SH001"])
                    #expect(Self.figures(byBranch) == [[0, 1, 1, 0], [1, 0, 0, 0]])
                    #expect(byBranch.map(\.medianWorkdays) == [16, 0])

                    // October, read on the 22nd: 4 (due Oct 26) is open and not yet due, in no figure;
                    // 3, closed on the 27th after its deadline of the 26th, is late.
                    let october = try await queries.problemCompliance(month: "2026-10", branches: nil).byDepartment
                    #expect(october.map(\.code) == ["BOC", "RISK"])
                    // BOC: 1, 2, 5 met (8, 11, 3), 12 late (16). RISK: 6, 9, 11 met (11, 1, 2), 3, 7 late (16, 17).
                    #expect(Self.figures(october) == [[3, 1, 0, 0], [3, 2, 0, 0]])
                    // BOC: 3, 8, 11, 16 — median 9.5, p90 11 + 0.7 × 5 = 14.5. RISK: 1, 2, 11, 16, 17 — median 11, p90 16.6.
                    #expect(october.map(\.medianWorkdays) == [9.5, 11])
                    #expect(Self.rounded(october.map(\.p90Workdays)) == [14.5, 16.6])
                    let octoberByBranch = try await queries.problemCompliance(month: "2026-10", branches: nil).byBranch
                    // BJ001: 1, 2 met, 3 late. GZ001: 9, 11 met, 12 late. SH001: 5, 6 met, 7 late.
                    #expect(octoberByBranch.map(\.code) == ["BJ001", "GZ001", "SH001"])
                    #expect(Self.figures(octoberByBranch) == [[2, 1, 0, 0], [2, 1, 0, 0], [2, 1, 0, 0]])
                    // BJ001: 8, 11, 16 — p90 11 + 0.8 × 5 = 15. GZ001: 1, 2, 16 — 13.2. SH001: 3, 11, 17 — 15.8.
                    #expect(octoberByBranch.map(\.medianWorkdays) == [11, 2, 11])
                    #expect(Self.rounded(octoberByBranch.map(\.p90Workdays)) == [15, 13.2, 15.8])

                    // The assessment's problems closed in time, from the loop clocks, equal a count of the
                    // problems closed by their clock's deadline, in months that also hold late and open ones.
                    for month in ["2026-09", "2026-10"] {
                        let range = try #require(PostgresDate.shanghaiMonth(month))
                        let recount = try await db.query(
                            """
                            select b.code, count(t.*) filter (where p.closed_at <= t.due_at)::text,
                                   count(t.*) filter (where p.closed_at > t.due_at or p.closed_at is null)::int
                            from huifang.branches b
                            left join huifang.timers t on t.branch_id = b.id and t.subject_kind = 'problem'
                              and t.due_at >= \(range.start)::timestamptz and t.due_at < \(range.end)::timestamptz
                            left join huifang.problems p on p.branch_id = t.branch_id and p.id = t.subject_id
                            group by b.code order by b.code
                            """
                        ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: Int.self)) }
                        #expect(recount.reduce(0) { $0 + $1.2 } > 0, "\(month) holds problems closed late or still open")
                        let table = try await AssessmentExport(db).table(.branch, month: month, branches: nil)
                        let column = try #require(table.header.firstIndex(of: "problems_due_closed_in_time"))
                        #expect(table.rows.map { [$0[0], $0[column]] } == recount.map { [$0.0, $0.1] }, "\(month)")
                    }

                    // Due at the end of Tue Oct 20: BJ001 sent on the 19th, SH001 on the 21st, GZ001 not yet.
                    let uploads = try await queries.uploadCompliance(month: "2026-09", branches: nil)
                    #expect(uploads.map(\.branchCode) == ["BJ001", "GZ001", "SH001"])
                    #expect(uploads.map(\.standing) == ["on_time", "missing", "late"])
                    #expect(uploads.allSatisfy { $0.dueAt == ISO8601DateFormatter().date(from: "2026-10-20T16:00:00Z") })

                    let overdue = try await queries.clocks(.overdue, .init(), branches: nil, limit: 100)
                    #expect(overdue.map { "\($0.branchCode) \($0.kind) \($0.ageWorkdays)" }
                            == ["GZ001 problem 19", "GZ001 problem_forwarding 16", "GZ001 problem_forwarding 10", "GZ001 record_upload 2"])
                    let counts = try await queries.overdueCounts(branches: nil, kind: nil)
                    #expect(counts.map { "\($0.branchCode) \($0.kind) \($0.count) \($0.oldestAgeWorkdays)" }
                            == ["GZ001 problem 1 19", "GZ001 problem_forwarding 2 16", "GZ001 record_upload 1 2"])
                    let risky = try await queries.clocks(.atRisk, .init(), branches: nil, limit: 100)
                    #expect(risky.map { "\($0.branchCode) \($0.kind)" } == ["BJ001 problem"])

                    // BJ001's people in September: rpA did three callbacks (one late) and had one
                    // record sent back; deskA did one, late. Problems: rpA's two closed; deskA's one
                    // rejected, one open. October's callback and August's return do not count.
                    let people = try await queries.people(branchId: org.branches["BJ001"]!, month: "2026-09")
                    let figures = Dictionary(uniqueKeysWithValues: people.map {
                        ($0.employeeNo, [$0.callbacksDone, $0.callbacksOnTime, $0.recordsReturned, $0.problemsRaised, $0.problemsClosed,
                                         $0.problemsRejected, $0.problemsOpen])
                    })
                    #expect(figures["rpA"] == [3, 2, 1, 2, 2, 0, 0])
                    #expect(figures["deskA"] == [1, 0, 0, 2, 0, 1, 1])
                    #expect(figures["opsA"] == [0, 0, 0, 0, 0, 0, 0])
                    #expect(Set(figures.keys) == ["rpA", "deskA", "opsA", "mktA"])
                }

                // A branch reader, even when asking for every branch (a handler that forgot its
                // filter), gets its own branch's rows only: row-level security cuts the rest.
                let opsB = Access(staffId: org.staff["opsB"]!, action: .readMonitoring, branchIds: [org.branches["SH001"]!], allBranches: false,
                                  organization: false)
                try await pool.transaction(for: opsB, readOnly: true) { db in
                    let queries = MonitoringQueries(db, now: Self.now)
                    for branches in [nil, [org.branches["SH001"]!]] as [[Int]?] {
                        let forwardings = try await queries.forwardingCompliance(month: "2026-09", branches: branches)
                        // SH001's own: LEGAL 4 (late); IT's 3 stopped in October.
                        #expect(forwardings.map(\.code) == ["LEGAL"] && Self.figures(forwardings) == [[0, 1, 0, 0]])
                        let byBranch = try await queries.problemCompliance(month: "2026-09", branches: branches).byBranch
                        #expect(byBranch.map(\.code) == ["SH001"] && byBranch.first?.total == 1)
                        let byDepartment = try await queries.problemCompliance(month: "2026-10", branches: branches).byDepartment
                        // October: BOC 5 (met), RISK 6 (met) and 7 (late).
                        #expect(Self.figures(byDepartment) == [[1, 0, 0, 0], [1, 1, 0, 0]])
                        let uploads = try await queries.uploadCompliance(month: "2026-09", branches: branches)
                        #expect(uploads.first { $0.branchCode == "SH001" }?.standing == "late")
                        // Other branches are at most named (branches are public), never with their upload.
                        #expect(uploads.filter { $0.branchCode != "SH001" }.allSatisfy { $0.standing == "not_opened" && $0.dueAt == nil })
                        #expect(try await queries.clocks(.overdue, .init(), branches: branches, limit: 100).isEmpty)
                        #expect(try await queries.overdueCounts(branches: branches, kind: nil).isEmpty)
                        #expect(try await queries.clocks(.atRisk, .init(), branches: branches, limit: 100).isEmpty)
                    }
                    // Another branch's people, asked for by id: nobody.
                    #expect(try await queries.people(branchId: org.branches["BJ001"]!, month: "2026-09").isEmpty)
                    #expect(try await queries.people(branchId: org.branches["GZ001"]!, month: "2026-09").isEmpty)
                }
            }
        }
    }

    /// The per-day open counts and the per-kind totals behind HQ's overdue figures equal a recount
    /// of the clocks after clocks are started, moved, fired through every stage and stopped, and
    /// after the scheduler folds the totals.
    @Test func theDailyOpenCountsAlwaysEqualTheClocks() async throws {
        try await TestDatabase.with { database in
            _ = try await database.withPool { try await Self.load(into: $0) }
            try await database.withPool { pool in
                let drift = """
                    select count(*)::int from (
                        select branch_id, subject_kind, (due_at at time zone 'Asia/Shanghai')::date as due_on, count(*)::int as n
                        from huifang.timers where stopped_at is null group by 1, 2, 3) a
                    full join (select * from huifang.open_clock_days where open <> 0) b
                        on a.branch_id = b.branch_id and a.subject_kind = b.subject_kind and a.due_on = b.due_on
                    where a.n is distinct from b.open
                    """
                let totalsDrift = """
                    select count(*)::int from (
                        select branch_id, subject_kind, count(*)::int as n from huifang.timers where stopped_at is null group by 1, 2) a
                    full join (select branch_id, subject_kind, sum(open)::int as open from huifang.open_clock_totals
                               group by 1, 2 having sum(open) <> 0) b
                        on a.branch_id = b.branch_id and a.subject_kind = b.subject_kind
                    where a.n is distinct from b.open
                    """
                func expectNoDrift(_ comment: Comment) async throws {
                    #expect(try await pool.query(SQL(drift)).single().decode(0, as: Int.self) == 0, comment)
                    #expect(try await pool.query(SQL(totalsDrift)).single().decode(0, as: Int.self) == 0, comment)
                }
                try await expectNoDrift("as loaded")
                while try await SLAEngine(pool: pool).fireDue(limit: 500).stages > 0 {}
                try await pool.query(
                    "update huifang.timers set started_at = started_at - interval '3 days' where subject_kind = 'problem' and stopped_at is null")
                try await pool.query(
                    """
                    update huifang.timers set state = 'stopped', stopped_at = now(), stop_reason = 'test', next_fire_at = null
                    where subject_kind = 'record_upload' and stopped_at is null
                    """)
                try await expectNoDrift("fired, moved and stopped")
                // Folded into one row per branch and kind, the totals still count the clocks.
                let rows = "select count(*)::int from huifang.open_clock_totals"
                let appended = try await pool.query(SQL(rows)).single().decode(0, as: Int.self)
                #expect(try await SLAEngine.recountOpenClockTotals(pool: pool) == appended)
                let kinds = "select count(*)::int from (select distinct branch_id, subject_kind from huifang.timers where stopped_at is null) k"
                #expect(try await pool.query(SQL(rows)).single().decode(0, as: Int.self) == (try await pool.query(SQL(kinds)).single().decode(0)))
                try await expectNoDrift("folded")
                let open: Int = try await pool.query("select coalesce(sum(open), 0)::int from huifang.open_clock_days").single().decode(0)
                #expect(open == 5, "problems 4 and 13 and forwardings 7, 10 and 11 are all that is still open")
                // The scheduler's housekeeping deletes the past days nothing counts any more; the counts stay.
                let emptyPast = "select count(*)::int from huifang.open_clock_days where open = 0 and due_on < current_date"
                try #require(try await pool.query(SQL(emptyPast)).single().decode(0, as: Int.self) > 0)
                #expect(try await SLAEngine.purgeEmptyClockDays(pool: pool) > 0)
                #expect(try await pool.query(SQL(emptyPast)).single().decode(0, as: Int.self) == 0)
                try await expectNoDrift("purged")
                // A clock moved back onto days whose rows were deleted is counted there again.
                try await pool.query(
                    "update huifang.timers set started_at = started_at - interval '40 days' where subject_kind = 'problem' and stopped_at is null")
                try await expectNoDrift("moved back")
            }
        }
    }

    /// Each row's met, breached stopped, breached open and misrouted.
    static func figures(_ rows: [MonitoringQueries.Compliance]) -> [[Int]] {
        rows.map { [$0.met, $0.breachedStopped, $0.breachedOpen, $0.misrouted] }
    }

    /// The SLA percentiles are read from each unit's histogram of working days: they equal
    /// PostgreSQL's percentile_cont of the same values, to the last bit, for 300 random units.
    @Test func histogramPercentilesArePercentileCont() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                var random = SystemRandomNumberGenerator()
                for _ in 0..<300 {
                    var histogram: [(days: Int, clocks: Int)] = []
                    for days in 0..<Int.random(in: 1...20, using: &random) where Bool.random(using: &random) {
                        histogram.append((days * Int.random(in: 1...3, using: &random), Int.random(in: 1...40, using: &random)))
                    }
                    histogram.sort { $0.days < $1.days }
                    let values = histogram.flatMap { Array(repeating: $0.days, count: $0.clocks) }
                    let expected = try await pool.query(
                        "select percentile_cont(0.5) within group (order by v), percentile_cont(0.9) within group (order by v) from unnest(\(values)::int[]) v"
                    ).single()
                    #expect(MonitoringQueries.percentile(0.5, of: histogram) == (try expected.decode(0, as: Double?.self)), "\(histogram)")
                    #expect(MonitoringQueries.percentile(0.9, of: histogram) == (try expected.decode(1, as: Double?.self)), "\(histogram)")
                }
            }
        }
    }

    static func rounded(_ values: [Double?]) -> [Double?] {
        values.map { $0.map { ($0 * 10).rounded() / 10 } }
    }

    /// Three branches, their people, a client each, HQ departments; the problems, forwardings, callbacks,
    /// a returned record and September's uploads — written as the owner with the workflow triggers
    /// off (the rows are history), while the clocks' own triggers set deadlines, holders and the
    /// working days each ran.
    struct Organization: Sendable {
        var staff: [String: Int64]
        var branches: [String: Int]
    }

    static func load(into pool: Pool) async throws -> Organization {
        try await pool.transaction { db in
            try await db.run(script: """
                insert into huifang.branches (code, name, region) values
                    ('BJ001', '北京建国门营业部', '华北'), ('SH001', '上海浦东营业部', '华东'), ('GZ001', '广州天河营业部', '华南');
                insert into huifang.departments (code, name, kind) values
                    ('BOC', '经纪业务运营中心', 'brokerage_ops_center'), ('RISK', '风险控制总部', 'risk_control'),
                    ('IT', '信息技术部', 'functional'), ('LEGAL', '法律合规部', 'functional'), ('AUD', '稽核部', 'other');
                """)
            let people: [(String, String, String)] = [
                ("opsA", "ops_director", "BJ001"), ("mktA", "marketing_director", "BJ001"), ("rpA", "responsible_person", "BJ001"),
                ("deskA", "front_desk", "BJ001"), ("managerA", "branch_manager", "BJ001"), ("opsB", "ops_director", "SH001"),
                ("deskB", "front_desk", "SH001"), ("rpC", "responsible_person", "GZ001"), ("opsCenter", "brokerage_ops_center", "BOC"),
                ("functional", "functional_dept", "IT"), ("auditor", "auditor", "AUD"),
            ]
            for (employeeNo, role, scope) in people {
                try await db.query(
                    """
                    with s as (
                        insert into huifang.staff (employee_no, name, home_branch_id, home_department_id)
                        select \(employeeNo), \(employeeNo), (select id from huifang.branches where code = \(scope)),
                               (select id from huifang.departments where code = \(scope))
                        returning id, home_branch_id, home_department_id
                    )
                    insert into huifang.role_grants (staff_id, role, branch_id, department_id)
                    select id, \(role), home_branch_id, home_department_id from s
                    """)
            }
            try await db.query(
                """
                insert into huifang.clients (branch_id, client_no, name, id_type, id_number, opened_at)
                select id, code || '-0001', '客户' || code, 'resident_id', '440106199001011234', '2020-01-01' from huifang.branches
                """)
            try await db.run(script: """
                alter table huifang.problems disable trigger user;
                alter table huifang.problem_forwardings disable trigger user;
                alter table huifang.callback_tasks disable trigger user;
                alter table huifang.records disable trigger user;
                alter table huifang.record_signatures disable trigger user;
                alter table huifang.record_uploads disable trigger user;
                """)
            for (n, branch, raiser, department, raised, closed, state, rejected) in problems {
                try await db.query(
                    """
                    insert into huifang.problems (branch_id, client_id, category, severity, description, raised_by, raised_at, state, via,
                                                  department_id, rejection_reason, closed_at, last_action)
                    select b.id, (select min(c.id) from huifang.clients c where c.branch_id = b.id), 'system_issue', 'medium', \("P\(n)"),
                           s.id, \(raised)::timestamptz, \(state), 'compliance', d.id, case when \(rejected) then 'not a client problem' end,
                           \(closed)::timestamptz, case when \(closed)::timestamptz is null then 'claim' else 'relay_client' end
                    from huifang.branches b, huifang.staff s, huifang.departments d
                    where b.code = \(branch) and s.employee_no = \(raiser) and d.code = \(department)
                    """)
            }
            try await db.query(
                """
                insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title)
                select branch_id, 'problem', id, 'problem_loop', raised_at, 15, description from huifang.problems where description ~ '^P[0-9]+$'
                """)
            try await db.query(
                """
                update huifang.timers t set state = 'stopped', stopped_at = p.closed_at, stop_reason = 'relayed to the client', next_fire_at = null
                from huifang.problems p
                where t.branch_id = p.branch_id and t.subject_kind = 'problem' and t.subject_id = p.id and p.closed_at is not null
                """)
            for (n, branch, problem, department, received, answered, misrouted) in forwardings {
                let state = answered == nil ? "received" : misrouted ? "misrouted" : "answered"
                try await db.query(
                    """
                    with f as (
                        insert into huifang.problem_forwardings (branch_id, problem_id, department_id, forwarded_by, received_at, state,
                                                                 answer, answered_at, answered_by, suggestion, note)
                        select p.branch_id, p.id, d.id, (select id from huifang.staff where employee_no = 'opsCenter'), \(received)::timestamptz,
                               \(state), case when \(state) = 'answered' then 'handled' end,
                               case when \(state) = 'answered' then \(answered)::timestamptz end,
                               case when \(state) = 'answered' then (select id from huifang.staff where employee_no = 'functional') end,
                               case when \(state) = 'misrouted' then 'try LEGAL' end, \("F\(n)")
                        from huifang.problems p join huifang.branches b on b.id = p.branch_id, huifang.departments d
                        where b.code = \(branch) and p.description = \("P\(problem)") and d.code = \(department)
                        returning branch_id, id, received_at
                    )
                    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, state, stopped_at,
                                                stop_reason)
                    select branch_id, 'problem_forwarding', id, 'forwarding_answer', received_at, 2, \("F\(n)"),
                           case when \(answered)::timestamptz is null then 'running' else 'stopped' end, \(answered)::timestamptz,
                           case when \(answered)::timestamptz is null then null when \(misrouted) then 'sent back as not ours' else 'answered' end
                    from f
                    """)
            }
            // BJ001's callbacks: rpA three in September (the last after its due day), one in October;
            // deskA one, late.
            let callbacks: [(String, String, String)] = [
                ("rpA", "2026-09-10 18:00+08", "2026-09-09 10:00+08"), ("rpA", "2026-09-30 18:00+08", "2026-09-29 10:00+08"),
                ("rpA", "2026-09-15 18:00+08", "2026-09-16 10:00+08"), ("rpA", "2026-10-30 18:00+08", "2026-10-08 10:00+08"),
                ("deskA", "2026-09-10 18:00+08", "2026-09-11 10:00+08"),
            ]
            for (index, (performer, due, done)) in callbacks.enumerated() {
                try await db.query(
                    """
                    insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, client_id, title, owner_role,
                                                        clock_started_at, clock_workdays, due_at, state, assignee_staff_id, closed_at, closed_by)
                    select b.id, r.code, r.version, '2026-09', \("test:\(index)"), (select min(c.id) from huifang.clients c where c.branch_id = b.id),
                           'Callback', 'ops_director', '2026-09-01 09:00+08', 5, \(due)::timestamptz, 'completed', s.id, \(done)::timestamptz, s.id
                    from huifang.branches b, huifang.staff s, (select code, version from huifang.obligation_rules order by code, version limit 1) r
                    where b.code = 'BJ001' and s.employee_no = \(performer)
                    """)
            }
            // One of rpA's records sent back by the ops director in September; another in August.
            for signed in ["2026-09-15 10:00+08", "2026-08-20 10:00+08"] {
                try await db.query(
                    """
                    with r as (
                        insert into huifang.records (branch_id, form_code, form_version, client_id, performer_staff_id, leader_role,
                                                     archiver_role, answers, state, return_reason)
                        select b.id, 'existing_client', 1, (select min(c.id) from huifang.clients c where c.branch_id = b.id), s.id,
                               'ops_director', 'ops_director', '{}', 'returned', 'add the recording id'
                        from huifang.branches b, huifang.staff s where b.code = 'BJ001' and s.employee_no = 'rpA'
                        returning branch_id, id, created_at
                    )
                    -- One statement: the signature's trigger cannot see the record yet, so it is told when the record was made.
                    insert into huifang.record_signatures (branch_id, record_id, record_created_at, step, signer_staff_id, signer_role,
                                                           signed_at, content_sha256)
                    select r.branch_id, r.id, r.created_at, 'return', s.id, 'ops_director', \(signed)::timestamptz, sha256('returned')
                    from r, huifang.staff s where s.employee_no = 'opsA'
                    """)
            }
            try await db.query("select huifang.open_record_uploads('2026-09')")
            for (branch, submitted) in [("BJ001", "2026-10-19 10:00+08"), ("SH001", "2026-10-21 10:00+08")] {
                try await db.query(
                    """
                    update huifang.record_uploads u set state = 'submitted', submitted_at = \(submitted)::timestamptz, record_count = 0,
                           submitted_by = (select g.staff_id from huifang.role_grants g where g.branch_id = u.branch_id and g.role = 'ops_director')
                    from huifang.branches b where b.id = u.branch_id and b.code = \(branch) and u.month = '2026-09'
                    """)
                try await db.query(
                    """
                    update huifang.timers t set state = 'stopped', stopped_at = \(submitted)::timestamptz, stop_reason = 'upload submitted',
                           next_fire_at = null
                    from huifang.record_uploads u join huifang.branches b on b.id = u.branch_id
                    where t.branch_id = u.branch_id and t.subject_kind = 'record_upload' and t.subject_id = u.id and b.code = \(branch)
                      and u.month = '2026-09'
                    """)
            }
            try await db.run(script: """
                alter table huifang.problems enable trigger user;
                alter table huifang.problem_forwardings enable trigger user;
                alter table huifang.callback_tasks enable trigger user;
                alter table huifang.records enable trigger user;
                alter table huifang.record_signatures enable trigger user;
                alter table huifang.record_uploads enable trigger user;
                """)
            try await db.query("select huifang.recount_person_month_figures()")
            let staff = try await db.query("select employee_no, id from huifang.staff").map {
                (try $0.decode(0, as: String.self), try $0.decode(1, as: Int64.self))
            }
            let branches = try await db.query("select code, id from huifang.branches").map {
                (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self))
            }
            return Organization(staff: Dictionary(uniqueKeysWithValues: staff), branches: Dictionary(uniqueKeysWithValues: branches))
        }
    }
}
