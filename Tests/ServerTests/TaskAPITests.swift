import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

@Suite("Callback tasks over HTTP: new accounts, queues, assignment, recusal, isolation")
struct TaskAPITests {
    /// The fixture's branch-A new-account task.
    static func taskA(_ database: TestDatabase, _ fixture: OrganizationFixture) async throws -> Int64 {
        try await database.withPool { try await fixture.newAccountTaskA(in: $0) }
    }

    @Test func aBrokerIntroducedAccountOpenedBeforeNationalDayIsDueAtTheEndOfTuesday13October() async throws {
        try await withFixtureApp(now: ISO8601DateFormatter().date(from: "2026-09-30T08:00:00Z")!) { api, fixture, _ in
            let token = try await api.token("deskA")
            let opened = try await api.send(
                .post, "/clients", token: token,
                json: [
                    "branchId": fixture.branchA, "clientNo": "C0930", "name": "赵六", "idType": "passport", "idNumber": "E5556667",
                    "openedAt": "2026-09-30T10:00:00+08:00", "referrerBrokerId": fixture.brokerA,
                ])
            #expect(opened.status == .created, "\(opened.text)")
            let client = try #require(try opened.json()["id"] as? Int)
            let tasks = try await api.send(.get, "/tasks?clientId=\(client)", token: try await api.token("opsA"))
            let items = try #require(try tasks.json()["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect(items.first?["ruleCode"] as? String == "new_account_broker")
            // 1–7 Oct are off and Sat 10 Oct is worked: day 5 is Tue 13 Oct, due at 00:00 on the 14th (Shanghai).
            #expect(items.first?["dueAt"] as? String == "2026-10-13T16:00:00Z")
            #expect(items.first?["state"] as? String == "open")

            // An ordinary account gets no task at once: it is sampled when its opening day is over.
            let ordinary = try await api.send(
                .post, "/clients", token: token,
                json: [
                    "branchId": fixture.branchA, "clientNo": "C0931", "name": "钱七", "idType": "passport", "idNumber": "E5556668",
                    "openedAt": "2026-09-30T11:00:00+08:00",
                ])
            let other = try #require(try ordinary.json()["id"] as? Int)
            let none = try await api.send(.get, "/tasks?clientId=\(other)", token: try await api.token("opsA"))
            #expect((try none.json()["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func assigningTheClientsReferrerIsRefusedByNameAndBulkAssignmentSkipsThem() async throws {
        try await withFixtureApp { api, fixture, database in
            let ops = try await api.token("opsA")
            let rp = fixture.staff["rpA"]!
            // rpA introduced the fixture's client.
            let change = try await api.send(.patch, "/clients/\(fixture.clientA)", token: ops, json: ["referrerStaffId": rp, "referrerReason": "开户时由客户经理介绍"])
            #expect(change.status == .ok, "\(change.text)")
            let task = try await Self.taskA(database, fixture)
            let refused = try await api.send(.post, "/tasks/\(task)/assign", token: ops, json: ["staffId": rp])
            #expect(refused.status == .conflict)
            let problem = try refused.problem()
            #expect(problem.type.hasSuffix("/recusal"))
            #expect(problem.detail?.contains("Art 4") == true)

            // Only the referrer offered: skipped, not failed. Everyone offered: someone else takes it.
            let onlyReferrer = try await api.send(
                .post, "/tasks/bulk-assign", token: ops, json: ["branchId": fixture.branchA, "taskIds": [task], "staffIds": [rp]])
            #expect(onlyReferrer.status == .ok, "\(onlyReferrer.text)")
            let skipped = try #require(try onlyReferrer.json()["skipped"] as? [[String: Any]])
            #expect(skipped.count == 1 && (skipped.first?["reason"] as? String)?.contains("recusal") == true)
            let everyone = try await api.send(.post, "/tasks/bulk-assign", token: ops, json: ["branchId": fixture.branchA])
            let assigned = try #require(try everyone.json()["assigned"] as? [[String: Any]], "\(everyone.text)")
            #expect(assigned.contains { $0["taskId"] as? Int == Int(task) })
            #expect(!assigned.contains { $0["staffId"] as? Int == Int(rp) })

            let fine = try await api.send(.post, "/tasks/\(task)/assign", token: ops, json: ["staffId": fixture.staff["deskA"]!])
            #expect(fine.status == .ok)
            #expect(try fine.json()["assigneeStaffId"] as? Int == Int(fixture.staff["deskA"]!))
            // The front desk may perform callbacks but does not direct them.
            let desk = try await api.token("deskA")
            #expect(try await api.send(.post, "/tasks/\(task)/assign", token: desk, json: ["staffId": rp]).status == .forbidden)
        }
    }

    @Test func attemptsAreLoggedOnTheServersClockAndUnreachableNeedsThreeTimelyDays() async throws {
        // The server's clock runs on here (on a busy machine a fixed one falls behind the test's `Date()`).
        try await withFixtureApp(configure: { $0.now = { Date() } }) { api, fixture, database in
            let task = try await Self.taskA(database, fixture)
            let ops = try await api.token("opsA")
            #expect(try await api.send(.post, "/tasks/\(task)/assign", token: ops, json: ["staffId": fixture.staff["rpA"]!]).status == .ok)
            let rp = try await api.token("rpA")
            let desk = try await api.token("deskA")
            #expect(try await api.send(.post, "/tasks/\(task)/start", token: desk).status == .forbidden, "only the assignee works it")
            let iso = ISO8601DateFormatter()
            func log(_ at: Date) async throws -> APIClient.Reply {
                try await api.send(
                    .post, "/tasks/\(task)/attempts", token: rp, json: ["attemptedAt": iso.string(from: at), "channel": "phone", "outcome": "no_answer"])
            }
            let now = try await log(Date())
            #expect(now.status == .created, "\(now.text)")
            // Two days ago the task did not exist yet; tomorrow has not happened.
            for refused in [Date().addingTimeInterval(-2 * 86400), Date().addingTimeInterval(86400)] {
                let answer = try await log(refused)
                #expect(answer.status.code == 422, "\(refused): \(answer.text)")
            }
            // The fixture's attempt of 3 Mar (logged that day) and today's: two days, not three.
            let refused = try await api.send(.post, "/tasks/\(task)/close-unreachable", token: rp, json: ["reason": "no answer three days"])
            #expect(refused.status == .conflict, "\(refused.text)")
            #expect(try refused.problem().detail?.contains("logged by the end of the next working day; this one has 2") == true)
            #expect(try await api.send(.get, "/tasks/\(task)", token: rp).json()["failedAttemptDays"] as? Int == 2)

            // A third day logged in time (as it would have been, back then) makes three; the fixture's
            // phone flag of this client is settled meanwhile.
            try await database.withPool { pool in
                _ = try await pool.query("update huifang.client_flags set resolved_at = now() where client_id = \(fixture.clientA)")
                _ = try await pool.query(
                    """
                    insert into huifang.callback_attempts (branch_id, task_id, attempted_at, channel, outcome, staff_id, recorded_at)
                    values (\(fixture.branchA), \(task), '2026-03-04 16:00+08', 'phone', 'busy', \(fixture.staff["rpA"]!), '2026-03-04 16:10+08')
                    """)
            }
            let closed = try await api.send(.post, "/tasks/\(task)/close-unreachable", token: rp, json: ["reason": "no answer three days"])
            #expect(closed.status == .ok, "\(closed.text)")
            #expect(try closed.json()["state"] as? String == "unreachable")
            let late = try await api.send(
                .post, "/records", token: rp, json: ["taskId": task, "answers": ["method": "phone"]])
            #expect(late.status == .conflict, "an unreachable task's callback is not recorded afterwards: \(late.text)")
            let attempts = try await api.send(.get, "/tasks/\(task)/attempts", token: ops)
            #expect((try JSONSerialization.jsonObject(with: Data(attempts.text.utf8)) as? [Any])?.count == 3)
            // The phone on file may be wrong (Art 9): the client's phone is flagged for verification, with its task.
            let flagged = try await database.withPool { pool in
                try await pool.query(
                    """
                    select f.reason, t.state from huifang.client_flags f
                    join huifang.callback_tasks t on t.branch_id = f.branch_id and t.flag_id = f.id
                    where f.client_id = \(fixture.clientA) and f.rule = 'unreachable' and f.resolved_at is null and f.fields = '{phone}'
                    """
                ).map { [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)] }
            }
            #expect(flagged.count == 1 && flagged.first?[1] == "open", "\(flagged)")
            #expect(flagged.first?[0].contains("unreachable on callback task \(task)") == true)
        }
    }

    @Test func anotherBranchsTaskIs404AndTheCallCenterSeesOnlyItsQueue() async throws {
        try await withFixtureApp { api, fixture, database in
            let task = try await Self.taskA(database, fixture)
            let opsB = try await api.token("opsB")
            #expect(try await api.send(.get, "/tasks/\(task)", token: opsB).status == .notFound)
            #expect(try await api.send(.get, "/tasks/\(task)/explanation", token: opsB).status == .notFound)
            #expect(try await api.send(.get, "/tasks/\(task)/attempts", token: opsB).status == .notFound)
            #expect(
                try await api.send(.post, "/tasks/\(task)/assign", token: opsB, json: ["staffId": fixture.staff["opsB"]!]).status
                    == .notFound)
            #expect(try await api.send(.post, "/tasks/\(task)/cancel", token: opsB, json: ["reason": "not mine anyway"]).status == .notFound)
            let bulk = try await api.send(.post, "/tasks/bulk-assign", token: opsB, json: ["branchId": fixture.branchA, "taskIds": [task]])
            #expect(bulk.status == .forbidden)
            let listed = try await api.send(.get, "/tasks?branchId=\(fixture.branchA)", token: opsB)
            #expect((try listed.json()["items"] as? [Any])?.isEmpty == true)
            let coverage = try await api.send(.get, "/coverage?period=2026-03", token: opsB)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(coverage.text.utf8)) as? [[String: Any]])
            #expect(!rows.isEmpty && rows.allSatisfy { $0["branchId"] as? Int == fixture.branchB })

            let callCenter = try await api.token("callCenter")
            #expect(try await api.send(.get, "/tasks/\(task)", token: callCenter).status == .notFound)
            let queue = try await api.send(.get, "/tasks", token: callCenter)
            #expect((try queue.json()["items"] as? [Any])?.isEmpty == true)
            // Nothing changed in branch A.
            let state: String = try await database.withPool {
                try await $0.query("select state from huifang.callback_tasks where id = \(task)").single().decode(0)
            }
            #expect(state == "open")
        }
    }

    @Test func hqReadersPageThroughEveryBranchsOverdueTasksInDueOrder() async throws {
        try await withFixtureApp { api, fixture, _ in
            let auditor = try await api.token("auditor")
            var seen: [[String: Any]] = []
            var next: String? = nil
            repeat {
                let page = try await api.send(
                    .get, "/tasks?overdue=true&limit=1" + (next.map { "&after=\($0)" } ?? ""), token: auditor)
                #expect(page.status == .ok, "\(page.text)")
                let items = try #require(try page.json()["items"] as? [[String: Any]])
                #expect(items.count <= 1)
                seen += items
                next = try page.json()["next"] as? String
            } while next != nil && seen.count < 20
            // Each branch's new-account and verification tasks: four, both branches, earliest due first.
            #expect(seen.count == 4)
            #expect(Set(seen.compactMap { $0["branchId"] as? Int }) == [fixture.branchA, fixture.branchB])
            let dues = seen.compactMap { $0["dueAt"] as? String }
            #expect(dues == dues.sorted())
            #expect(seen.allSatisfy { $0["overdue"] as? Bool == true })
        }
    }

    @Test func sAndTDirectsTheCallCenterWhoseQueueShowsTheTasksAcrossBranches() async throws {
        try await withFixtureApp { api, fixture, database in
            let st = try await api.token("salesTrading")
            let issue: [String: Any] = [
                "title": "大额资金流动确认", "purpose": "Confirm large asset movements (Art 10)",
                "questions": [["id": "q1", "text": "您本月是否有大额资金转出？"]], "executor": "call_center", "dueOn": "2026-07-15",
                "clients": [["branchCode": "BJ001", "clientNo": "C0001"], ["branchCode": "SH001", "clientNo": "C0001"]],
            ]
            let unknown = try await api.send(
                .post, "/directives", token: st,
                json: issue.merging(["clients": [["branchCode": "BJ001", "clientNo": "C0001"], ["branchCode": "SH001", "clientNo": "NOPE"]]]) { $1 })
            #expect(unknown.status.code == 422)
            #expect(try unknown.problem().errors?.map(\.field) == ["clients[1]"])
            let issued = try await api.send(.post, "/directives", token: st, json: issue)
            #expect(issued.status == .created, "\(issued.text)")
            let directive = try #require(try issued.json()["id"] as? Int)
            #expect(try issued.json()["targetCount"] as? Int == 2)

            let callCenter = try await api.token("callCenter")
            let queue = try await api.send(.get, "/tasks?queue=call_center", token: callCenter)
            let items = try #require(try queue.json()["items"] as? [[String: Any]])
            #expect(Set(items.compactMap { $0["branchId"] as? Int }) == [fixture.branchA, fixture.branchB])
            // The call center reads the clients it was directed to call, whatever their branch.
            #expect(items.allSatisfy { $0["subjectNo"] as? String == "C0001" && $0["subjectName"] as? String == "李四" })
            // The call center assigns its own tasks, to its own people.
            let first = try #require(items.first?["id"] as? Int)
            let taken = try await api.send(.post, "/tasks/\(first)/assign", token: callCenter, json: ["staffId": fixture.staff["callCenter"]!])
            #expect(taken.status == .ok, "\(taken.text)")
            let outsider = try await api.send(.post, "/tasks/\(first)/assign", token: callCenter, json: ["staffId": fixture.staff["deskA"]!])
            #expect(outsider.status.code == 422)
            // The call center's record of it is in the call center's list of records, found from
            // what it executed, not by walking every branch's records; another department's is not it.
            let recorded = try await api.send(.post, "/records", token: callCenter, json: [
                "taskId": first,
                "answers": ["method": "phone", "contactedAt": "2026-07-01T11:00:00+08:00", "personReached": "client", "identityConfirmed": true,
                            "directiveAnswers": ["q1": "否"]],
            ])
            #expect(recorded.status == .created, "\(recorded.text)")
            let record = try #require(try recorded.json()["id"] as? Int)
            let listed = try await api.send(.get, "/records?limit=50", token: callCenter)
            #expect(listed.status == .ok, "\(listed.text)")
            #expect((try listed.json()["items"] as? [[String: Any]])?.map { $0["id"] as? Int } == [record])
            let elsewhere = try await api.send(.get, "/records?limit=50", token: try await api.token("functional"))
            #expect((try elsewhere.json()["items"] as? [[String: Any]])?.contains { $0["id"] as? Int == record } != true)

            // Its progress is kept by state over every branch for the issuing department, and a
            // branch reads its own tasks' share only; the assigned task is made a day overdue.
            let takenBranch = try #require(items.first?["branchId"] as? Int)
            try await database.withPool {
                try await $0.query("update huifang.callback_tasks set due_at = now() - interval '1 day' where id = \(first)")
            }
            let issuer = try await api.send(.get, "/directives/\(directive)", token: st)
            #expect((try issuer.json()["progress"] as? [String: Int]) == ["open": 1, "assigned": 1], "\(issuer.text)")
            #expect(try issuer.json()["overdue"] as? Int == 1)
            let ops = try await api.token(takenBranch == fixture.branchB ? "opsB" : "opsA")
            let other = try await api.token(takenBranch == fixture.branchB ? "opsA" : "opsB")
            let own = try await api.send(.get, "/directives?limit=50", token: ops)
            let ownDirective = try #require(try (own.json()["items"] as? [[String: Any]])?.first { $0["id"] as? Int == directive })
            #expect((ownDirective["progress"] as? [String: Int]) == ["assigned": 1] && ownDirective["overdue"] as? Int == 1, "\(own.text)")
            let theirs = try await api.send(.get, "/directives/\(directive)", token: other)
            let theirsBody = try theirs.json()
            #expect((theirsBody["progress"] as? [String: Int]) == ["open": 1] && theirsBody["overdue"] as? Int == 0, "\(theirs.text)")

            // A branch sees the directive that gives it work; cancelling it cancels what is not done.
            let seen = try await api.send(.get, "/directives/\(directive)", token: try await api.token("opsB"))
            #expect(seen.status == .ok)
            #expect(try await api.send(.post, "/directives/\(directive)/cancel", token: try await api.token("auditor"), json: ["reason": "x"]).status == .forbidden)
            let cancelled = try await api.send(.post, "/directives/\(directive)/cancel", token: st, json: ["reason": "superseded by a new list"])
            #expect(cancelled.status == .ok, "\(cancelled.text)")
            #expect((try cancelled.json()["progress"] as? [String: Int]) == ["cancelled": 2])
            let open: Int = try await database.withPool {
                try await $0.query(
                    "select count(*)::int from huifang.callback_tasks where directive_id = \(directive) and state <> 'cancelled'"
                ).single().decode(0)
            }
            #expect(open == 0)

            // Coverage counts the directive's targets, recorded when it was issued: still the
            // population once cancelled, but no longer required.
            let coverage = try await api.send(.get, "/coverage?period=2026-07&branchId=\(fixture.branchA)", token: try await api.token("opsA"))
            #expect(coverage.status == .ok, "\(coverage.text)")
            let special = try #require(try coverage.jsonArray().first { $0["ruleCode"] as? String == "special" })
            #expect(special["population"] as? Int == 1 && special["required"] as? Int == 0 && special["cancelled"] as? Int == 1)
            #expect(special["met"] as? Bool == true && special["coveragePercent"] as? String == "0.00")
            #expect(special["unclassified"] == nil && special["awaitingSignoff"] as? Int == 0)
        }
    }

    @Test func flaggingAClientCreatesItsVerificationTaskAndRulesListEveryVersion() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            let flagged = try await api.send(
                .post, "/clients/\(fixture.clientA)/flags", token: ops, json: ["fields": ["id_number"], "reason": "ID document expired"])
            #expect(flagged.status == .created, "\(flagged.text)")
            let task = try #require(try flagged.json()["taskId"] as? Int)
            let explained = try await api.send(.get, "/tasks/\(task)/explanation", token: ops)
            #expect(try explained.json()["ruleCode"] as? String == "data_verification")
            #expect(try await api.send(.post, "/clients/\(fixture.clientB)/flags", token: ops, json: ["fields": ["phone"], "reason": "wrong number"]).status == .notFound)
            let rules = try await api.send(.get, "/obligation-rules", token: ops)
            #expect((try JSONSerialization.jsonObject(with: Data(rules.text.utf8)) as? [Any])?.count == 12, "seven obligation rules and five event rules")
            let low = try await api.send(
                .post, "/obligation-rules/service_half_year/versions", token: try await api.token("admin"),
                json: ["effectiveFrom": "2027-01-01", "coveragePercent": "10"])
            #expect(low.status == .forbidden)
        }
    }
}
