import Foundation
import HTTPTypes
import Postgres
import Server
import Store
import Testing
import TestSupport

@Suite("Monitoring over HTTP: overdue and at risk with ages in working days, SLA, uploads, people; each branch sees only itself")
struct MonitoringAPITests {
    static func rows(_ reply: APIClient.Reply) throws -> [[String: Any]] {
        (try JSONSerialization.jsonObject(with: Data(reply.text.utf8)) as? [[String: Any]]) ?? []
    }

    @Test func overdueAndAtRiskCountWorkingDaysAcrossNationalDay() async throws {
        // Thu 22 Oct 2026, 10:00 in Shanghai.
        try await withFixtureApp(now: ISO8601DateFormatter().date(from: "2026-10-22T02:00:00Z")!) { api, fixture, database in
            try await database.withPool { pool in
                try await pool.query(
                    """
                    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title) values
                        (\(fixture.branchA), 'record_upload', 9001, 'upload_due', '2026-09-30 23:59:59+08', 10, 'Upload of 2026-09'),
                        (\(fixture.branchA), 'problem_forwarding', 9002, 'forwarding_answer', '2026-09-30 16:00+08', 2, 'Forwarding'),
                        (\(fixture.branchB), 'problem', 9003, 'problem_loop', '2026-09-29 10:00+08', 15, 'Problem'),
                        (\(fixture.branchB), 'problem_forwarding', 9004, 'forwarding_answer', '2026-09-30 16:00+08', 2, 'Stopped in time')
                    """)
                try await pool.query(
                    "update huifang.timers set state = 'stopped', stopped_at = '2026-10-09 10:00+08', next_fire_at = null where subject_id = 9004")
            }
            let auditor = try await api.token("auditor")
            let uploads = try await api.send(.get, "/monitoring/overdue?kind=record_upload", token: auditor)
            let upload = try #require(try uploads.json()["items"] as? [[String: Any]]).first
            // Due at the end of Tue 20 Oct: two working days late (21, 22 Oct).
            #expect(upload?["dueAt"] as? String == "2026-10-20T16:00:00Z" && upload?["ageWorkdays"] as? Int == 2, "\(uploads.text)")
            let forwardings = try #require(try await api.send(.get, "/monitoring/overdue?kind=problem_forwarding", token: auditor)
                .json()["items"] as? [[String: Any]])
            // Due at the end of Fri 9 Oct: 10 working days late, the make-up Saturday 10 Oct counted; the stopped one is not overdue.
            #expect(forwardings.map { $0["subjectId"] as? Int } == [9002])
            #expect(forwardings.first?["ageWorkdays"] as? Int == 10)
            let counts = try #require(try await api.send(.get, "/monitoring/overdue?kind=problem_forwarding", token: auditor)
                .json()["counts"] as? [[String: Any]])
            #expect(counts.count == 1 && counts.first?["count"] as? Int == 1 && counts.first?["oldestAgeWorkdays"] as? Int == 10)
            let risky = try Self.rows(try await api.send(.get, "/monitoring/at-risk?kind=problem", token: auditor))
            #expect(risky.map { $0["subjectId"] as? Int } == [9003], "past 75 % of its 15 days, due Mon 26 Oct")

            // Branch B sees only its own; branch A's ids do not help.
            let opsB = try await api.token("opsB")
            let seen = try await api.send(.get, "/monitoring/overdue?kind=problem_forwarding&branchId=\(fixture.branchA)", token: opsB)
            let seenItems = try seen.json()["items"] as? [Any]
            let seenCounts = try seen.json()["counts"] as? [Any]
            #expect(seenItems?.isEmpty == true && seenCounts?.isEmpty == true)
            #expect(try Self.rows(try await api.send(.get, "/monitoring/at-risk?kind=problem", token: try await api.token("opsA"))).isEmpty)
            #expect(try await api.send(.get, "/monitoring/overdue", token: try await api.token("rpA")).status == .forbidden)
        }
    }

    @Test func complianceUploadsAndPeopleFigures() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let month: String = try await database.withPool {
                try await $0.query("select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')").single().decode(0)
            }
            let auditor = try await api.token("auditor")
            // The fixture: in each branch IT answered its forwarding at once, HQ accepted it; nothing closed yet.
            let sla = try await api.send(.get, "/monitoring/sla?month=\(month)", token: auditor)
            let byDepartment = try #require(try sla.json()["forwardingsByDepartment"] as? [[String: Any]], "\(sla.text)")
            #expect(byDepartment.count == 1)
            #expect(byDepartment.first?["code"] as? String == "IT" && byDepartment.first?["total"] as? Int == 2)
            #expect(["met", "breachedStopped", "breachedOpen", "misrouted", "withinDeadline"].map { byDepartment.first?[$0] as? Int }
                    == [2, 0, 0, 0, 2])
            #expect(byDepartment.first?["share"] as? Double == 1)
            #expect(byDepartment.first?["medianWorkdays"] as? Double == 0)
            #expect((try sla.json()["problemsByBranch"] as? [Any])?.isEmpty == true)
            let ownBranch = try await api.send(.get, "/monitoring/sla?month=\(month)", token: try await api.token("opsA"))
            #expect((try ownBranch.json()["forwardingsByDepartment"] as? [[String: Any]])?.first?["total"] as? Int == 1)

            // May's uploads were submitted at once by each ops director: after their June deadline.
            let uploads = try Self.rows(try await api.send(.get, "/monitoring/uploads?month=2026-05", token: auditor))
            #expect(uploads.map { $0["standing"] as? String } == ["late", "late"])
            #expect(try Self.rows(try await api.send(.get, "/monitoring/uploads?month=2026-05", token: try await api.token("opsB"))).count == 1)
            #expect(try await api.send(.get, "/monitoring/uploads?month=2026-13", token: auditor).status.code == 422)

            // Branch A's people: the front desk raised the fixture's problem, still open.
            let people = try Self.rows(try await api.send(.get, "/monitoring/people?branchId=\(fixture.branchA)&month=\(month)", token: try await api.token("opsA")))
            let desk = try #require(people.first { $0["employeeNo"] as? String == "deskA" })
            #expect(desk["problemsRaised"] as? Int == 1 && desk["problemsOpen"] as? Int == 1 && desk["callbacksDone"] as? Int == 0)
            #expect(try await api.send(.get, "/monitoring/people?branchId=\(fixture.branchA)&month=\(month)", token: try await api.token("opsB")).status == .notFound)
        }
    }

    @Test func theAssessmentExportIsTheSameFileEachTimeAndABranchGetsOnlyItsOwnRows() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let month: String = try await database.withPool {
                try await $0.query("select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')").single().decode(0)
            }
            let auditor = try await api.token("auditor")
            let first = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=branch", token: auditor)
            #expect(first.status == .ok && first.headers[.contentType]?.hasPrefix("text/csv") == true, "\(first.text)")
            let lines = first.text.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("branch,name,callbacks_due") == true)
            // The fixture: in each branch this month one service record countersigned, one problem raised.
            let columns = lines.first!.split(separator: ",").map(String.init)
            for line in lines.dropFirst() {
                let row = Dictionary(uniqueKeysWithValues: zip(columns, line.split(separator: ",").map(String.init)))
                #expect(row["records_countersigned"] == "1" && row["problems_raised"] == "1", "\(line)")
            }
            #expect(lines.count == 3)
            let again = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=branch", token: auditor)
            #expect(again.text == first.text)
            let own = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=branch", token: try await api.token("opsB"))
            #expect(own.text.split(separator: "\n").count == 2 && own.text.contains("SH001") && !own.text.contains("BJ001"))
            let people = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=person", token: try await api.token("opsA"))
            #expect(people.text.contains("BJ001,deskA,deskA,0,0,0,1"), "\(people.text)")
            #expect(!people.text.contains("SH001"))
        }
    }

    /// Every row of the assessment by person equals a count of that person's own month, made one
    /// person at a time as the figures are defined, for HQ and for a branch (which sees its own).
    @Test func theAssessmentByPersonEqualsEachPersonsOwnCount() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            // More of the month: problems raised by two people of branch A, one of branch B.
            _ = try await ProblemAPITests.raise(api, fixture)
            _ = try await ProblemAPITests.raise(api, fixture, category: "service_need")
            let month: String = try await database.withPool { pool in
                try await pool.query("select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')").single().decode(0)
            }
            func expected(_ branches: SQL) async throws -> [String] {
                try await database.withPool { owner in
                    try await owner.query(
                        """
                        with x as (select (to_date(\(month), 'YYYY-MM')::timestamp at time zone 'Asia/Shanghai') as start_at,
                                          ((to_date(\(month), 'YYYY-MM') + interval '1 month')::timestamp at time zone 'Asia/Shanghai') as end_at)
                        select concat_ws(',', b.code, s.employee_no, s.name,
                               (select count(*) from huifang.callback_tasks t where t.branch_id = b.id and t.closed_by = s.id and t.state = 'completed'
                                  and t.closed_at >= x.start_at and t.closed_at < x.end_at),
                               (select count(*) from huifang.callback_tasks t where t.branch_id = b.id and t.closed_by = s.id and t.state = 'completed'
                                  and t.closed_at >= x.start_at and t.closed_at < x.end_at and t.closed_at <= t.due_at),
                               (select count(*) from huifang.record_signatures g join huifang.records r on r.branch_id = g.branch_id
                                    and r.id = g.record_id and r.created_at = g.record_created_at
                                  where g.branch_id = b.id and r.performer_staff_id = s.id and g.step = 'return'
                                    and g.signed_at >= x.start_at and g.signed_at < x.end_at),
                               (select count(*) from huifang.problems p where p.branch_id = b.id and p.raised_by = s.id
                                  and p.raised_at >= x.start_at and p.raised_at < x.end_at))
                        from huifang.branches b
                        join (select distinct branch_id, staff_id from huifang.role_grants
                              where role in ('responsible_person', 'front_desk', 'ops_director', 'marketing_director')) g on g.branch_id = b.id
                        join huifang.staff s on s.id = g.staff_id cross join x
                        where
                        """ + " " + branches + " order by b.code, s.employee_no"
                    ).map { try $0.decode(0) }
                }
            }
            let everyone = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=person", token: try await api.token("auditor"))
            let rows = everyone.text.split(separator: "\n").dropFirst().map(String.init)
            #expect(rows == (try await expected("true")), "\(everyone.text)")
            #expect(rows.contains { $0.hasPrefix("BJ001,rpA,rpA,") && $0.hasSuffix(",2") }, "rpA raised two this month: \(everyone.text)")
            let own = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=person", token: try await api.token("opsB"))
            #expect(own.text.split(separator: "\n").dropFirst().map(String.init) == (try await expected("b.id = \(fixture.branchB)")))
        }
    }

    /// The callback columns of the branch assessment: a month's tasks counted per branch, and a branch
    /// without tasks that month shows zeros, not blanks.
    @Test func theBranchAssessmentCountsEachBranchsCallbacksDueInTheMonth() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let auditor = try await api.token("auditor")
            func rows(_ month: String) async throws -> [String: [String: String]] {
                let reply = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=branch", token: auditor)
                let lines = reply.text.split(separator: "\n").map(String.init)
                let columns = try #require(lines.first, "\(reply.text)").split(separator: ",").map(String.init)
                return Dictionary(uniqueKeysWithValues: lines.dropFirst().map { line in
                    let row = Dictionary(uniqueKeysWithValues: zip(columns, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
                    return (row["branch"] ?? "", row)
                })
            }
            let callbacks = ["callbacks_due", "callbacks_on_time", "callbacks_awaiting_signoff", "callbacks_unreachable", "callbacks_late_or_missed"]
            // March 2026: each branch's new-account callback came due (5 working days after 2 March) and was not made.
            let due: [String: Int] = try await database.withPool { pool in
                try await pool.query(
                    """
                    select b.code, count(t.id)::int from huifang.branches b
                    left join huifang.callback_tasks t on t.branch_id = b.id and t.state <> 'cancelled'
                      and t.due_at >= '2026-03-01 00:00+08' and t.due_at < '2026-04-01 00:00+08'
                    group by b.code
                    """
                ).reduce(into: [:]) { $0[try $1.decode(0, as: String.self)] = try $1.decode(1, as: Int.self) }
            }
            #expect(due == ["BJ001": 1, "SH001": 1])
            let march = try await rows("2026-03")
            for code in ["BJ001", "SH001"] {
                #expect(callbacks.map { march[code]?[$0] } == ["1", "0", "0", "0", "1"], "\(code): \(march[code] ?? [:])")
            }
            // January: nothing was due anywhere, and every branch still has its row of zeros.
            let january = try await rows("2026-01")
            #expect(january.keys.sorted() == ["BJ001", "SH001"])
            for code in ["BJ001", "SH001"] {
                #expect(callbacks.map { january[code]?[$0] } == ["0", "0", "0", "0", "0"], "\(code): \(january[code] ?? [:])")
            }
        }
    }

    /// OWASP's CSV-injection rule: a cell a spreadsheet would run as a formula starts with an apostrophe.
    @Test func aNameThatLooksLikeAFormulaIsExportedAsText() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let month: String = try await database.withPool { pool in
                try await pool.query("update huifang.staff set name = '=HYPERLINK(\"http://evil.example\",\"x\")' where id = \(fixture.staff["deskA"]!)")
                try await pool.query("update huifang.branches set name = '@SUM(1+1)' where id = \(fixture.branchA)")
                return try await pool.query("select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')").single().decode(0)
            }
            let auditor = try await api.token("auditor")
            let people = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=person", token: auditor)
            #expect(people.text.contains(#"BJ001,deskA,"'=HYPERLINK(""http://evil.example"",""x"")",0"#), "\(people.text)")
            #expect(!people.text.contains(",=HYPERLINK") && !people.text.contains(",\"=HYPERLINK"))
            let branches = try await api.send(.get, "/monitoring/assessment?month=\(month)&by=branch", token: auditor)
            #expect(branches.text.contains(",'@SUM(1+1),"), "\(branches.text)")
        }
    }
}
