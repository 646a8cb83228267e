import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

@Suite("Art 16: every evaluating department evaluates every branch each year, on a clock")
struct EvaluationDutyTests {
    static func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func eachDepartmentOwesEachBranchAYearlyEvaluationThatScoresEveryCriterion() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            _ = try await ObligationGenerationTests.generate(database, "2026-07", today: "2026-08-10")
            _ = try await ObligationGenerationTests.generate(database, "2026-08", today: "2026-08-10")  // nothing more
            try await database.withPool { pool in
                // S&T HQ, the Ops Center and Risk Control HQ (not the call center, IT or the others) × BJ001, SH001.
                let duties: [String] = try await pool.query(
                    """
                    select b.code || ' ' || d.code || ' ' || u.year || ' ' || t.clock || ' ' || t.state || ' '
                           || to_char(t.due_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
                    from huifang.evaluation_duties u
                    join huifang.branches b on b.id = u.branch_id
                    join huifang.departments d on d.id = u.department_id
                    join huifang.timers t on t.branch_id = u.branch_id and t.subject_kind = 'evaluation_duty' and t.subject_id = u.id
                    order by 1
                    """
                ).map { try $0.decode(0) }
                // Due at 24:00 of Thu 31 Dec 2026, the year's last working day.
                #expect(duties == [
                    "BJ001 BOC 2026 evaluation_due running 2027-01-01 00:00", "BJ001 RISK 2026 evaluation_due running 2027-01-01 00:00",
                    "BJ001 ST 2026 evaluation_due running 2027-01-01 00:00", "SH001 BOC 2026 evaluation_due running 2027-01-01 00:00",
                    "SH001 RISK 2026 evaluation_due running 2027-01-01 00:00", "SH001 ST 2026 evaluation_due running 2027-01-01 00:00",
                ])

                // S&T HQ evaluates BJ001: it cannot close with a criterion unscored.
                let st = fixture.staff["salesTrading"]!
                let evaluation: Int64 = try await pool.transaction(settings: [("huifang.staff_id", String(st))]) { db in
                    let id: Int64 = try await db.query(
                        """
                        insert into huifang.evaluations (branch_id, department_id, year)
                        select \(fixture.branchA), id, 2026 from huifang.departments where code = 'ST' returning id
                        """
                    ).single().decode(0)
                    try await db.query(
                        """
                        insert into huifang.evaluation_scores (branch_id, evaluation_id, criterion, score)
                        values (\(fixture.branchA), \(id), 'coverage', 80), (\(fixture.branchA), \(id), 'timeliness', 90),
                               (\(fixture.branchA), \(id), 'record_quality', 70)
                        """)
                    return id
                }
                let unscored = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(settings: [("huifang.staff_id", String(st))]) {
                        try await $0.query("update huifang.evaluations set state = 'closed' where id = \(evaluation)")
                    }
                }
                #expect(unscored?.constraint == "evaluations_scored")
                #expect(unscored?.message.contains("problem_handling") == true)
                try await pool.transaction(settings: [("huifang.staff_id", String(st))]) { db in
                    try await db.query(
                        """
                        insert into huifang.evaluation_scores (branch_id, evaluation_id, criterion, score)
                        values (\(fixture.branchA), \(evaluation), 'problem_handling', 100)
                        """)
                    try await db.query("update huifang.evaluations set state = 'closed' where id = \(evaluation)")
                }
                // Closing it meets the duty; the other five still run, and are overdue in the new year.
                let states: [String] = try await pool.query(
                    """
                    select t.state || ' ' || coalesce(t.stop_reason, '-') from huifang.timers t
                    where t.subject_kind = 'evaluation_duty' order by t.state desc
                    """
                ).map { try $0.decode(0) }
                #expect(states == ["stopped evaluated", "running -", "running -", "running -", "running -", "running -"])
            }
            let overdue = try await database.withPool(database.application) { pool in
                try await pool.transaction(for: Access(
                    staffId: fixture.staff["opsCenter"]!, action: .readMonitoring, branchIds: [], allBranches: true, organization: false)
                ) { db in
                    var filter = MonitoringQueries.Filter()
                    filter.kind = "evaluation_duty"
                    return try await MonitoringQueries(db, now: Self.at("2027-01-05T02:00:00Z")).clocks(.overdue, filter, branches: nil, limit: 50)
                }
            }
            #expect(overdue.count == 5)
            #expect(overdue.allSatisfy { $0.ageWorkdays >= 1 && $0.title.contains("2026 callback work") })
        }
    }

    @Test func publishedResultsAndTheirScoreAreInTheAssessmentExport() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let st = fixture.staff["salesTrading"]!
            let month: String = try await database.withPool { pool in
                try await pool.transaction(settings: [("huifang.staff_id", String(st))]) { db in
                    let year: Int = try await db.query("select extract(year from now() at time zone 'Asia/Shanghai')::int").single().decode(0)
                    let id: Int64 = try await db.query(
                        """
                        insert into huifang.evaluations (branch_id, department_id, year)
                        select \(fixture.branchA), id, \(year) from huifang.departments where code = 'ST' returning id
                        """
                    ).single().decode(0)
                    try await db.query(
                        """
                        insert into huifang.evaluation_scores (branch_id, evaluation_id, criterion, score)
                        values (\(fixture.branchA), \(id), 'coverage', 80), (\(fixture.branchA), \(id), 'timeliness', 90),
                               (\(fixture.branchA), \(id), 'record_quality', 70), (\(fixture.branchA), \(id), 'problem_handling', 100)
                        """)
                    try await db.query("update huifang.evaluations set state = 'closed' where id = \(id)")
                    try await db.query("update huifang.evaluations set state = 'published', summary = 'good work' where id = \(id)")
                    return try await db.query("select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')").single().decode(0)
                }
            }
            let table = try await database.withPool(database.application) { pool in
                try await pool.transaction(for: Access(
                    staffId: fixture.staff["auditor"]!, action: .readMonitoring, branchIds: [], allBranches: true, organization: false)
                ) { try await AssessmentExport($0).table(.branch, month: month, branches: nil) }
            }
            let rows = table.rows.map { Dictionary(uniqueKeysWithValues: zip(table.header, $0)) }
            let bj = try #require(rows.first { $0["branch"] == "BJ001" })
            let sh = try #require(rows.first { $0["branch"] == "SH001" })
            // (80 × 30 + 90 × 25 + 70 × 25 + 100 × 20) ÷ (30 + 25 + 25 + 20) = 8400 ÷ 100 = 84.00
            #expect(bj["evaluations_published"] == "1" && bj["evaluation_score"] == "84.00")
            #expect(sh["evaluations_published"] == "0" && sh["evaluation_score"] == "")
        }
    }
}
