import Foundation
import HTTPTypes
import Postgres
import Server
import Store
import Testing
import TestSupport

/// The console's pages over the same operations and row-level security as the API, read as an
/// attacker would read them: another branch's client never shows up, not even when its ids are
/// put in the URL or in a form.
@Suite("The console: sign-in cookie, form tokens, pages per role, another branch's rows, stale steps")
struct ConsolePageTests {
    static let secretClientNo = "SH-SECRET-8841"
    static let secretName = "赵保密"

    /// Branch B gets a client whose number and name appear nowhere else, and a problem about it.
    static func plantSecret(_ api: APIClient, _ fixture: OrganizationFixture, _ database: TestDatabase) async throws -> (client: Int64, problem: Int) {
        let client: Int64 = try await database.withPool { pool in
            try await pool.query(
                """
                insert into huifang.clients (branch_id, client_no, name, id_type, id_number, phone, opened_at)
                values (\(fixture.branchB), \(secretClientNo), \(secretName), 'resident_id', '110101199003070011', '13912340000', '2026-06-20 10:00+08')
                returning id
                """
            ).single().decode(0)
        }
        var raised: APIClient.Reply?
        for who in ["deskB", "opsB"] {
            let reply = try await api.send(
                .post, "/problems", token: try await api.token(who),
                json: ["clientId": client, "category": "client_complaint", "severity": "high", "description": "B 营业部的投诉 \(secretName)"])
            if reply.status == .created { raised = reply; break }
        }
        let problem = try #require((try raised?.json()["problem"] as? [String: Any])?["id"] as? Int, "a problem of branch B")
        return (client, problem)
    }

    /// A problem of branch A raised by its responsible person, waiting for the ops director's approval.
    static func raisedInA(_ api: APIClient, _ fixture: OrganizationFixture) async throws -> Int {
        let reply = try await api.send(
            .post, "/problems", token: try await api.token("rpA"),
            json: ["clientId": fixture.clientA, "category": "system_issue", "severity": "high", "description": "行情延迟 Quotes lag"])
        return try #require((try reply.json()["problem"] as? [String: Any])?["id"] as? Int, "raised: \(reply.text)")
    }

    static let pages = [
        "/console", "/console/tasks", "/console/tasks?mine=1", "/console/records", "/console/problems", "/console/forwardings",
        "/console/monitoring", "/console/monitoring/sla", "/console/monitoring/uploads", "/console/monitoring/coverage",
        "/console/monitoring/people", "/console/clients", "/console/audit",
    ]

    @Test func signingInSetsAStrictHttpOnlyCookieForTheConsoleOnlyAndTheSessionIsTheAPIs() async throws {
        try await withFixtureApp(now: Date()) { api, _, _ in
            let browser = ConsoleBrowser(api.client)
            let form = try await browser.get("/console/sign-in")
            #expect(form.status == .ok)
            #expect(form.html.contains("工号"), "Chinese first")
            let signedIn = try await browser.signIn("rpA", password: OrganizationFixture.password)
            #expect(signedIn.status == .seeOther)
            let cookie = try #require(signedIn.setCookies.first { $0.hasPrefix("huifang_session=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(cookie.contains("Path=/console"))
            #expect(!cookie.contains("Secure"), "plain HTTP: a Secure cookie would never come back")
            let token = try #require(browser.cookies["huifang_session"])

            // The console's session is a session of the API: the same token reads /me.
            #expect(try await api.send(.get, "/me", token: token).status == .ok)
            // ...but the API never takes it from a cookie (no other site's form acts through it).
            #expect(try await api.send(.get, "/me", headers: ["Cookie": "huifang_session=\(token)"]).status == .unauthorized)

            // Behind a TLS proxy the cookie is Secure.
            let overTLS = ConsoleBrowser(api.client)
            let secure = try await overTLS.signIn("opsA", password: OrganizationFixture.password, headers: ["X-Forwarded-Proto": "https"])
            #expect(secure.setCookies.first { $0.hasPrefix("huifang_session=") }?.contains("Secure") == true)

            // Signing out ends the session row: the API refuses the token, the console asks to sign in again.
            _ = try await browser.get("/console")
            #expect(try await browser.post("/console/sign-out").status == .seeOther)
            #expect(try await api.send(.get, "/me", token: token).status == .unauthorized)
            let after = ConsoleBrowser(api.client)
            after.cookies["huifang_session"] = token
            let refused = try await after.get("/console")
            #expect(refused.status == .seeOther)
            #expect(refused.location?.hasPrefix("/console/sign-in") == true)
        }
    }

    @Test func wrongPasswordsAndFormsWithoutTheirTokenAreRefused() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, _ in
            let id = try await Self.raisedInA(api, fixture)
            let stranger = ConsoleBrowser(api.client)
            let wrong = try await stranger.signIn("rpA", password: "not the password")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.html.contains("工号或密码不正确"))
            #expect(stranger.cookies["huifang_session"] == nil)
            // The API's lockout: after five failures the number is locked, whatever the password.
            for _ in 0..<4 { _ = try await stranger.signIn("rpA", password: "still not it") }
            let locked = try await stranger.signIn("rpA", password: OrganizationFixture.password)
            #expect(locked.status.code == 423)
            #expect(locked.html.contains("暂时锁定"))
            #expect(stranger.cookies["huifang_session"] == nil)
            // A sign-in form posted from elsewhere (no pairing cookie) is refused.
            let forged = ConsoleBrowser(api.client)
            #expect(try await forged.post("/console/sign-in", ["employeeNo": "rpA", "password": OrganizationFixture.password], token: "made-up").status == .forbidden)

            let mkt = try await ConsoleBrowser.signedIn(api.client, as: "opsA")
            let page = try await mkt.get("/console/problems/\(id)")
            let etag = try #require(hiddenETag(page.html))
            // Without the form token, and with another session's token: 403, nothing changes.
            let bare = try await mkt.post("/console/problems/\(id)/approve", ["etag": etag], token: .none)
            #expect(bare.status == .forbidden)
            let other = try await ConsoleBrowser.signedIn(api.client, as: "mktA")
            _ = try await other.get("/console")
            let borrowed = try await mkt.post("/console/problems/\(id)/approve", ["etag": etag], token: other.formToken)
            #expect(borrowed.status == .forbidden)
            let state = try await api.send(.get, "/problems/\(id)", token: try await api.token("opsA")).json()["problem"] as? [String: Any]
            #expect(state?["state"] as? String == "raised")
            // With it, the step is taken.
            let approved = try await mkt.post("/console/problems/\(id)/approve", ["etag": etag])
            #expect(approved.status == .seeOther, "\(approved.html)")
        }
    }

    @Test func everyPageRendersForEveryRoleAndBranchPeopleNeverSeeAnotherBranchsClient() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let secret = try await Self.plantSecret(api, fixture, database)
            let own = try await Self.raisedInA(api, fixture)
            for who in ["rpA", "opsA", "mktA", "deskA", "managerA", "opsCenter", "functional", "salesTrading", "risk", "auditor", "admin", "callCenter"] {
                let browser = try await ConsoleBrowser.signedIn(api.client, as: who)
                for uri in Self.pages {
                    let page = try await browser.get(uri)
                    // A page the role may not open says so (403), as the API does; nothing fails.
                    #expect(page.status == .ok || page.status == .forbidden, "\(who) \(uri): \(page.status) \(page.html.prefix(600))")
                    #expect(page.status.code < 500)
                    if ["rpA", "opsA", "mktA", "deskA", "managerA"].contains(who) {
                        #expect(!page.html.contains(Self.secretClientNo), "\(who) sees branch B's client on \(uri)")
                        #expect(!page.html.contains(Self.secretName), "\(who) sees branch B's client on \(uri)")
                        #expect(!page.html.contains("SH001"), "\(who) sees branch B on \(uri)")
                    }
                }
            }
            // The right rows: the ops director's work holds branch A's raised problem, and the auditor
            // reads branch B's problem and client.
            let ops = try await ConsoleBrowser.signedIn(api.client, as: "opsA")
            let work = try await ops.get("/console")
            #expect(work.html.contains("href=\"/console/problems/\(own)\""), "the ops director has a problem to approve")
            #expect(!work.html.contains("href=\"/console/problems/\(secret.problem)\""))
            let auditor = try await ConsoleBrowser.signedIn(api.client, as: "auditor")
            let problem = try await auditor.get("/console/problems/\(secret.problem)")
            #expect(problem.status == .ok)
            #expect(problem.html.contains(Self.secretClientNo))
            let client = try await auditor.get("/console/clients/\(secret.client)")
            #expect(client.html.contains("110***********0011"), "masked")
            #expect(!client.html.contains("110101199003070011"))
        }
    }

    @Test func anotherBranchsIdsInTheURLOrInAFormShowAndChangeNothing() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let secret = try await Self.plantSecret(api, fixture, database)
            let recordB = try #require(
                (try await api.send(.get, "/records?branchId=\(fixture.branchB)", token: try await api.token("auditor")).json()["items"] as? [[String: Any]])?.first?["id"] as? Int)
            let ops = try await ConsoleBrowser.signedIn(api.client, as: "opsA")
            for uri in ["/console/problems/\(secret.problem)", "/console/clients/\(secret.client)", "/console/clients/\(fixture.clientB)",
                        "/console/records/\(recordB)", "/console/records/\(recordB)/print", "/console/clients?branch=\(fixture.branchB)",
                        "/console/monitoring/people?branch=\(fixture.branchB)"] {
                let page = try await ops.get(uri)
                #expect(page.status == .notFound || page.status == .forbidden || page.status == .ok, "\(uri): \(page.status)")
                #expect(!page.html.contains(Self.secretClientNo), "\(uri)")
                #expect(!page.html.contains(Self.secretName), "\(uri)")
                #expect(!page.html.contains("SH001"), "\(uri)")
            }
            _ = try await ops.get("/console")
            for (uri, fields) in [("/console/problems/\(secret.problem)/approve", ["etag": "\"problem-\(secret.problem)-v1\""]),
                                  ("/console/problems/\(secret.problem)/return", ["etag": "\"problem-\(secret.problem)-v1\"", "reason": "不是我们的"]),
                                  ("/console/records/\(recordB)/archive", [:]),
                                  ("/console/clients/\(secret.client)/reveal", ["fields": "idNumber", "reason": "看看别的营业部"])] {
                let page = try await ops.post(uri, fields)
                #expect(page.status == .notFound || page.status == .forbidden, "\(uri): \(page.status)")
                #expect(!page.html.contains(Self.secretClientNo), "\(uri)")
                #expect(!page.html.contains("110101199003070011"), "\(uri)")
            }
            let unchanged = try await api.send(.get, "/problems/\(secret.problem)", token: try await api.token("auditor")).json()["problem"] as? [String: Any]
            #expect(unchanged?["state"] as? String == "raised")
        }
    }

    @Test func aStepFromAStalePageSaysChangedBySomeoneElseAndChangesNothing() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, _ in
            let id = try await Self.raisedInA(api, fixture)
            let first = try await ConsoleBrowser.signedIn(api.client, as: "opsA")
            let stale = try #require(hiddenETag(try await first.get("/console/problems/\(id)").html))
            // Someone else returns it meanwhile (the API, the same version check).
            let token = try await api.token("opsA")
            let current = try await api.send(.get, "/problems/\(id)", token: token).headers[.eTag]
            #expect(try await api.send(.post, "/problems/\(id)/return", token: token, json: ["reason": "请补充客户原话"], ifMatch: current).status == .ok)
            let page = try await first.post("/console/problems/\(id)/approve", ["etag": stale])
            #expect(page.status.code == 412)
            #expect(page.html.contains("已被他人修改 — 请刷新页面"))
            let state = try await api.send(.get, "/problems/\(id)", token: token).json()["problem"] as? [String: Any]
            #expect(state?["state"] as? String == "returned")
        }
    }

    @Test func pagesSpeakEnglishOnRequestAndShowDeadlinesInWorkingDays() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, _ in
            _ = try await Self.raisedInA(api, fixture)
            let browser = try await ConsoleBrowser.signedIn(api.client, as: "opsA")
            let chinese = try await browser.get("/console")
            #expect(chinese.html.contains("我的工作"))
            #expect(chinese.html.contains("剩余 15 个工作日") || chinese.html.contains("剩余 14 个工作日"), "the new problem's clock in working days")
            browser.language = "en-US,en;q=0.9"
            #expect(try await browser.get("/console").html.contains("My work"))
            // The switch wins over the browser's languages.
            let switched = try await browser.get("/console/language?to=zh&back=/console/problems")
            #expect(switched.location == "/console/problems")
            #expect(try await browser.get("/console/problems").html.contains("问题"))
            // ...and never sends anyone off the console.
            #expect(try await browser.get("/console/language?to=en&back=//evil.example/").location == "/console")
        }
    }

    /// A service record builds the client's profile (Attachment 5) on the same page, from its
    /// form's definition; left blank it is not filed, begun it is checked, and the record shows it.
    @Test func aServiceRecordFilesTheClientProfileFromItsForm() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, _ in
            let created = try await api.send(.post, "/records", token: try await api.token("rpA"), json: [
                "clientId": fixture.clientA, "formCode": "service",
                "answers": ["method": "visit", "contactedAt": "2026-07-01T15:00:00+08:00", "personReached": "client", "identityConfirmed": true,
                            "satisfaction": ["research": 3, "staffAttitude": 5, "staffCompetence": 4, "technicalSystems": 4]],
            ])
            #expect(created.status == .created, "\(created.text)")
            let record = try #require(try created.json()["id"] as? Int)
            let browser = try await ConsoleBrowser.signedIn(api.client, as: "rpA")
            let page = try await browser.get("/console/records/\(record)")
            #expect(page.html.contains("客户档案") && page.html.contains("Attachment 5"), "the client profile's form")
            #expect(page.html.contains("name=\"p.occupation\""))
            var answers: [String: String] = [
                "a.method": "visit", "a.contactedAt": "2026-07-01T15:00", "a.personReached": "client", "a.identityConfirmed": "true",
                "a.satisfaction.research": "3", "a.satisfaction.staffAttitude": "5", "a.satisfaction.staffCompetence": "4",
                "a.satisfaction.technicalSystems": "4",
            ]
            answers["p.occupation"] = String(repeating: "教", count: 101)
            let refused = try await browser.post("/console/records/\(record)/answers", answers)
            #expect(refused.status.code == 422, "\(refused.html.prefix(1500))")
            // The error stands under the profile's occupation, not under the record's own fields.
            let occupation = try #require(refused.html.range(of: "name=\"p.occupation\""))
            #expect(refused.html[occupation.upperBound...].prefix(400).contains("class=\"error\""), "\(refused.html[occupation.upperBound...].prefix(400))")
            #expect(!refused.html[..<occupation.lowerBound].contains("class=\"error\""), "no error before it")
            answers["p.occupation"] = "中学教师"
            answers["p.preferredContact"] = "sms"
            let saved = try await browser.post("/console/records/\(record)/answers", answers)
            #expect(saved.status == .seeOther, "\(saved.html.prefix(1500))")
            let filed = try await api.send(.get, "/records/\(record)", token: try await api.token("rpA")).json()
            let profile = try #require(filed["profile"] as? [String: Any])
            #expect(profile["formCode"] as? String == "client_profile")
            #expect((profile["answers"] as? [String: Any])?["occupation"] as? String == "中学教师")
            #expect((profile["answers"] as? [String: Any])?["preferredContact"] as? String == "sms")
            let shown = try await browser.get("/console/records/\(record)")
            #expect(shown.html.contains("中学教师"))
        }
    }

    @Test func aRecordFormIsDrivenByItsDefinitionAndNamesEachMissingField() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, _ in
            // The branch's new-account task of client A, assigned to the responsible person.
            let ops = try await api.token("opsA")
            let tasks = try await api.send(.get, "/tasks?branchId=\(fixture.branchA)&state=active", token: ops).json()["items"] as? [[String: Any]] ?? []
            let task = try #require(tasks.first { ($0["ruleCode"] as? String)?.hasPrefix("new_account") == true }?["id"] as? Int)
            let rp = fixture.staff["rpA"]!
            let assigned = try await api.send(.post, "/tasks/\(task)/assign", token: ops, json: ["staffId": rp])
            #expect(assigned.status == .ok, "\(assigned.text)")
            let browser = try await ConsoleBrowser.signedIn(api.client, as: "rpA")
            let page = try await browser.get("/console/tasks/\(task)")
            #expect(page.html.contains("新开户客户回访记录表"), "the form of the task's rule")
            #expect(page.html.contains("name=\"a.identityConfirmed\""))
            _ = try await browser.post("/console/tasks/\(task)/start")
            _ = try await browser.get("/console/tasks/\(task)")
            let refused = try await browser.post("/console/tasks/\(task)/record", ["a.method": "phone"])
            #expect(refused.status.code == 422)
            #expect(refused.html.contains("answers.contactedAt"), "each missing required field is named")
            #expect(refused.html.contains("必填"))
            let saved = try await browser.post("/console/tasks/\(task)/record", [
                "a.method": "phone", "a.contactedAt": "2026-07-01T10:30", "a.personReached": "client", "a.identityConfirmed": "true",
                "a.riskDisclosureAcknowledged": "true", "a.findings.0.kind": "problem", "a.findings.0.text": "行情软件卡顿",
            ])
            #expect(saved.status == .seeOther, "\(saved.html.prefix(2000))")
            let record = try #require(saved.location)
            let shown = try await browser.get(record)
            #expect(shown.html.contains("行情软件卡顿"))
            #expect(shown.html.contains("id=\"submit-record\""))
        }
    }
}
