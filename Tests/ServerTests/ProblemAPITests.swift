import Domain
import Foundation
import HTTPTypes
import Postgres
import Server
import Store
import Testing
import TestSupport

@Suite("The problem workflow over HTTP: approval, triage, forwarding, relays, clocks, versions, department scope")
struct ProblemAPITests {
    /// A step as `who`, naming the ETag of the problem as they last read it.
    struct Actor {
        let api: APIClient
        let token: String

        func read(_ problem: Int) async throws -> (json: [String: Any], etag: String) {
            let reply = try await api.send(.get, "/problems/\(problem)", token: token)
            guard reply.status == .ok else { throw TestFailure("GET /problems/\(problem): \(reply.status) \(reply.text)") }
            return (try reply.json(), reply.headers[.eTag] ?? "")
        }

        func step(_ problem: Int, _ path: String, _ body: Any? = nil) async throws -> APIClient.Reply {
            let etag = try await read(problem).etag
            return try await api.send(.post, "/problems/\(problem)/\(path)", token: token, json: body ?? [String: Any](), ifMatch: etag)
        }
    }

    static func state(_ reply: APIClient.Reply) throws -> String? {
        (try reply.json()["problem"] as? [String: Any])?["state"] as? String
    }

    static func raise(_ api: APIClient, _ fixture: OrganizationFixture, category: String = "system_issue") async throws -> Int {
        let raised = try await api.send(
            .post, "/problems", token: try await api.token("rpA"),
            json: ["clientId": fixture.clientA, "category": category, "severity": "high", "description": "交易软件行情延迟 Quotes lag"])
        guard raised.status == .created, let problem = (try raised.json()["problem"] as? [String: Any])?["id"] as? Int else {
            throw TestFailure("raise: \(raised.status) \(raised.text)")
        }
        return problem
    }

    @Test func theFullLoopEndsClosedWithThreeRelaysAndAMisrouteKeepsThe15DayClock() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let problem = try await Self.raise(api, fixture)
            let rp = Actor(api: api, token: try await api.token("rpA"))
            let ops = Actor(api: api, token: try await api.token("opsA"))
            let center = Actor(api: api, token: try await api.token("opsCenter"))
            let legal = Actor(api: api, token: try await api.token("legal"))
            let it = Actor(api: api, token: try await api.token("functional"))

            // Approval: the ops director (a compliance problem), naming the version read.
            let bare = try await api.send(.post, "/problems/\(problem)/approve", token: ops.token, json: [String: Any]())
            #expect(bare.status.code == 428)
            #expect(try await Actor(api: api, token: try await api.token("mktA")).step(problem, "approve").status == .forbidden)
            let approved = try await ops.step(problem, "approve")
            #expect(approved.status == .ok, "\(approved.text)")
            #expect(try Self.state(approved) == "at_hq")
            #expect(approved.headers[.eTag]?.hasPrefix("\"problem-") == true, "a quoted entity tag: \(approved.headers[.eTag] ?? "")")
            let routed = try #require(try approved.json()["problem"] as? [String: Any])
            #expect(routed["departmentCode"] as? String == "BOC")
            let loop = try #require((routed["clock"] as? [String: Any])?["dueAt"] as? String)

            // Only the department it was routed to sees it; a functional department not yet forwarded to neither.
            #expect(try await api.send(.get, "/problems/\(problem)", token: try await api.token("risk")).status == .notFound)
            #expect(try await api.send(.get, "/problems/\(problem)", token: it.token).status == .notFound)
            #expect(try await api.send(.get, "/problems/\(problem)", token: try await api.token("opsB")).status == .notFound)

            #expect(try Self.state(try await center.step(problem, "claim")) == "in_triage")
            #expect(try await center.step(problem, "forward", ["departmentIds": [Int]()]).status.code == 422)
            // Forwarded to Legal, who says it is not theirs; HQ forwards to IT: a new 2-day clock, the same 15-day one.
            let toLegal = try await center.step(problem, "forward", ["departmentIds": [Self.department(fixture, database, "LEGAL")]])
            #expect(try Self.state(toLegal) == "forwarded", "\(toLegal.text)")
            let queue = try await api.send(.get, "/forwardings", token: legal.token)
            let legalForwarding = try #require((try queue.json()["items"] as? [[String: Any]])?.first)
            let legalId = try #require(legalForwarding["id"] as? Int)
            #expect(legalForwarding["problemId"] as? Int == problem)
            let seenByLegal = try await legal.read(problem).json
            #expect((seenByLegal["problem"] as? [String: Any])?["clientNo"] == nil, "a functional department does not see the client")
            let misrouted = try await api.send(
                .post, "/forwardings/\(legalId)/misroute", token: legal.token, json: ["text": "IT runs the quote servers"],
                ifMatch: legalForwarding["etag"] as? String)
            #expect(misrouted.status == .ok, "\(misrouted.text)")
            #expect(try misrouted.json()["state"] as? String == "misrouted")
            // Sent back within its 2 working days: in this month's SLA figures, met, and counted as misrouted.
            let month: String = try await database.withPool {
                try await $0.query("select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')").single().decode(0)
            }
            let sla = try await api.send(.get, "/monitoring/sla?month=\(month)", token: try await api.token("auditor"))
            let legalSLA = (try sla.json()["forwardingsByDepartment"] as? [[String: Any]])?.first { $0["code"] as? String == "LEGAL" }
            #expect(["met", "breachedStopped", "breachedOpen", "misrouted", "total"].map { legalSLA?[$0] as? Int } == [1, 0, 0, 1, 1],
                    "\(sla.text)")
            // The department assessment of the month it was due in counts it too: due, and in time.
            let dueMonth: String = try await database.withPool {
                try await $0.query(
                    """
                    select to_char(t.due_at at time zone 'Asia/Shanghai', 'YYYY-MM') from huifang.timers t
                    join huifang.problem_forwardings f on f.branch_id = t.branch_id and f.id = t.subject_id
                    where t.subject_kind = 'problem_forwarding' and f.state = 'misrouted'
                    """
                ).single().decode(0)
            }
            let assessment = try await api.send(.get, "/monitoring/assessment?month=\(dueMonth)&by=department", token: try await api.token("auditor"))
            #expect(assessment.text.contains("\nLEGAL,functional,1,1,"), "\(assessment.text)")
            let toIT = try await center.step(problem, "forward", ["departmentIds": [Self.department(fixture, database, "IT")]])
            #expect(try Self.state(toIT) == "forwarded", "\(toIT.text)")
            let forwardings = try #require(try toIT.json()["forwardings"] as? [[String: Any]])
            #expect(forwardings.map { $0["state"] as? String } == ["misrouted", "received"])
            #expect(((try toIT.json()["problem"] as? [String: Any])?["clock"] as? [String: Any])?["dueAt"] as? String == loop)
            #expect((forwardings[1]["clock"] as? [String: Any])?["state"] as? String == "running")

            // Legal, sent back, no longer sees anything but its own forwarding's steps.
            let legalView = try await legal.read(problem).json
            #expect((legalView["relays"] as? [Any])?.isEmpty == true)
            #expect((legalView["timeline"] as? [[String: Any]])?.allSatisfy { $0["forwardingId"] as? Int == legalId } == true)
            // IT acknowledges and answers; HQ asks again (a new forwarding), IT answers again; HQ accepts.
            func itStep(_ path: String, _ body: [String: Any]? = nil) async throws -> APIClient.Reply {
                let mine = try #require(
                    (try await api.send(.get, "/forwardings", token: it.token).json()["items"] as? [[String: Any]])?
                        .first(where: { $0["problemId"] as? Int == problem }))
                return try await api.send(
                    .post, "/forwardings/\(mine["id"] as! Int)/\(path)", token: it.token, json: body, ifMatch: mine["etag"] as? String)
            }
            #expect(try await itStep("acknowledge").status == .ok)
            let answered = try await itStep("answer", ["text": "行情服务器已扩容 Quote servers scaled out"])
            #expect(try answered.json()["state"] as? String == "answered", "\(answered.text)")
            let firstAnswer = try #require(try answered.json()["id"] as? Int)
            #expect(try await center.step(problem, "forwardings/\(firstAnswer)/ask-again", ["text": "When, and for which market?"]).status == .ok)
            let second = try await itStep("answer", ["text": "已于10月8日完成，沪深两市 Done on 8 Oct, both markets"])
            let secondId = try #require(try second.json()["id"] as? Int, "\(second.text)")
            let left = try await api.send(.get, "/forwardings", token: it.token)
            #expect((try left.json()["items"] as? [Any])?.isEmpty == true, "nothing left in IT's queue")
            let accepted = try await center.step(problem, "forwardings/\(secondId)/accept")
            #expect(try Self.state(accepted) == "answered", "\(accepted.text)")

            // Relays: the branch leader and the responsible person before the client, whose relay closes it.
            #expect(try await center.step(problem, "relays", ["recipient": "client", "channel": "phone"]).status == .conflict)
            for recipient in ["branch_leader", "responsible_person"] {
                let relayed = try await center.step(problem, "relays", ["recipient": recipient, "channel": "system"])
                #expect(relayed.status == .ok, "\(relayed.text)")
            }
            let closed = try await center.step(problem, "relays", ["recipient": "client", "channel": "phone", "note": "客户表示满意"])
            #expect(try Self.state(closed) == "closed", "\(closed.text)")
            // Legal cannot read IT's answer, in the problem or its steps.
            let afterwards = try await api.send(.get, "/problems/\(problem)", token: legal.token)
            #expect(!afterwards.text.contains("Quote servers") && !afterwards.text.contains("both markets"), "\(afterwards.text)")
            let final = try closed.json()
            #expect((final["relays"] as? [[String: Any]])?.count == 3)
            #expect(((final["problem"] as? [String: Any])?["clock"] as? [String: Any])?["state"] as? String == "met")
            let actions = (final["timeline"] as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
            #expect(actions.prefix(4) == ["raise", "approve", "claim", "forwarding.received"])
            #expect(actions.contains("forwarding.misrouted") && actions.contains("forwarding.answer_rejected") && actions.last == "relay_client")
            let audited: Int = try await database.withPool {
                try await $0.query(
                    "select count(*)::int from huifang.audit_events where object_type = 'problem' and object_id = \(String(problem))"
                ).single().decode(0)
            }
            #expect(audited >= 9)

            // The people's monthly figures, kept step by step, equal a count from the rows.
            #expect(try await Self.peopleFiguresMatchARecount(database))

            // The branch assessment of the loop's month counts it closed in time, as a count of the
            // problems closed by their loop's deadline says, for every branch.
            let loopMonth: String = try await database.withPool {
                try await $0.query(
                    "select to_char(due_at at time zone 'Asia/Shanghai', 'YYYY-MM') from huifang.timers where subject_kind = 'problem' and subject_id = \(problem)"
                ).single().decode(0)
            }
            let closedInTime: [String: String] = try await database.withPool {
                try await $0.query(
                    """
                    select b.code, count(p.id)::text from huifang.branches b
                    left join huifang.timers t on t.branch_id = b.id and t.subject_kind = 'problem'
                      and to_char(t.due_at at time zone 'Asia/Shanghai', 'YYYY-MM') = \(loopMonth)
                    left join huifang.problems p on p.branch_id = t.branch_id and p.id = t.subject_id and p.closed_at <= t.due_at
                    group by b.code
                    """
                ).reduce(into: [:]) { $0[try $1.decode(0, as: String.self)] = try $1.decode(1, as: String.self) }
            }
            #expect(closedInTime["BJ001"] == "1")
            let byBranch = try await api.send(.get, "/monitoring/assessment?month=\(loopMonth)&by=branch", token: try await api.token("auditor"))
            let lines = byBranch.text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let column = try #require(lines.first?.firstIndex(of: "problems_due_closed_in_time"), "\(byBranch.text)")
            #expect(Dictionary(uniqueKeysWithValues: lines.dropFirst().map { ($0[0], $0[column]) }) == closedInTime)

            // Reopened within 30 days: a linked follow-up with its own clock; once only.
            let reopened = try await api.send(.post, "/problems/\(problem)/reopen", token: rp.token, json: ["reason": "客户仍觉行情延迟"])
            #expect(reopened.status == .created, "\(reopened.text)")
            let follow = try #require(try reopened.json()["problem"] as? [String: Any])
            #expect(follow["reopenedFrom"] as? Int == problem && follow["state"] as? String == "at_hq")
            #expect(try await api.send(.post, "/problems/\(problem)/reopen", token: rp.token, json: ["reason": "again"]).status == .conflict)
        }
    }

    /// Every stage of a forwarding's 2-day clock has fired (it is "done", the work still open): HQ's
    /// figures count it as breached while open in the month its deadline passed; the late answer
    /// stops it and moves it to the month of the answer, breached — never left out.
    @Test func anAnswerAfterTheEscalationStopsTheClockAndCountsAsLate() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let problem = try await Self.raise(api, fixture)
            let center = Actor(api: api, token: try await api.token("opsCenter"))
            #expect(try await Actor(api: api, token: try await api.token("opsA")).step(problem, "approve").status == .ok)
            #expect(try await center.step(problem, "claim").status == .ok)
            let forwarded = try await center.step(problem, "forward", ["departmentIds": [Self.department(fixture, database, "IT")]])
            #expect(try Self.state(forwarded) == "forwarded", "\(forwarded.text)")
            // Received twenty days ago, so every stage lies behind it; the engine fires them all.
            let months: (due: String, now: String) = try await database.withPool { pool in
                try await pool.query(
                    """
                    update huifang.timers set started_at = now() - interval '20 days'
                    where subject_kind = 'problem_forwarding' and subject_id in (
                        select id from huifang.problem_forwardings where problem_id = \(problem))
                    """)
                while try await SLAEngine(pool: pool).fireDue(limit: 100).stages > 0 {}
                let row = try await pool.query(
                    """
                    select to_char(due_at at time zone 'Asia/Shanghai', 'YYYY-MM'), to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')
                    from huifang.timers where subject_kind = 'problem_forwarding'
                      and subject_id in (select id from huifang.problem_forwardings where problem_id = \(problem))
                    """
                ).single()
                return (try row.decode(0), try row.decode(1))
            }
            let auditor = try await api.token("auditor")
            func itFigures(_ month: String) async throws -> (met: Int, breachedStopped: Int, breachedOpen: Int) {
                let sla = try await api.send(.get, "/monitoring/sla?month=\(month)", token: auditor)
                let row = (try sla.json()["forwardingsByDepartment"] as? [[String: Any]])?.first { $0["code"] as? String == "IT" }
                return (row?["met"] as? Int ?? 0, row?["breachedStopped"] as? Int ?? 0, row?["breachedOpen"] as? Int ?? 0)
            }
            // Unanswered past its deadline: breached while open in the month the deadline passed.
            let dueBefore = try await itFigures(months.due)
            let nowBefore = try await itFigures(months.now)
            #expect(dueBefore.breachedOpen >= 1, "\(dueBefore)")
            let it = try await api.token("functional")
            let mine = try #require(
                (try await api.send(.get, "/forwardings", token: it).json()["items"] as? [[String: Any]])?.first)
            #expect((mine["clock"] as? [String: Any])?["state"] as? String != "running", "\(mine)")
            let answered = try await api.send(
                .post, "/forwardings/\(mine["id"] as! Int)/answer", token: it, json: ["text": "已修复 Fixed"], ifMatch: mine["etag"] as? String)
            #expect(answered.status == .ok, "\(answered.text)")
            let clock = try await database.withPool { pool in
                try await pool.query(
                    """
                    select state, stop_reason, stopped_at > due_at from huifang.timers
                    where subject_kind = 'problem_forwarding' and subject_id = \(Int64(mine["id"] as! Int))
                    """
                ).single()
            }
            #expect(try clock.decode(0, as: String.self) == "stopped" && clock.decode(1, as: String?.self) == "answered")
            #expect(try clock.decode(2, as: Bool.self))
            // The fixture's own forwardings may fall in the same months: the answer takes one out of the
            // due month's open breaches and adds one late stop to this month, none in time.
            let dueAfter = try await itFigures(months.due)
            let nowAfter = try await itFigures(months.now)
            #expect(dueAfter.breachedOpen == dueBefore.breachedOpen - 1, "\(dueBefore) → \(dueAfter)")
            #expect(nowAfter.breachedStopped == nowBefore.breachedStopped + 1 && nowAfter.met == nowBefore.met, "\(nowBefore) → \(nowAfter)")
            // Nothing of it is overdue any more.
            let overdue = try await api.send(.get, "/monitoring/overdue?kind=problem_forwarding", token: auditor)
            #expect((try overdue.json()["items"] as? [Any])?.isEmpty == true, "\(overdue.text)")
        }
    }

    static func peopleFiguresMatchARecount(_ database: TestDatabase) async throws -> Bool {
        try await database.withPool { pool in
            let figures: SQL = """
                select branch_id || ' ' || staff_id || ' ' || month || ' ' || concat_ws(',', callbacks_done, callbacks_on_time,
                       records_returned, problems_raised, problems_closed, problems_rejected, problems_open)
                from huifang.person_month_figures
                where callbacks_done <> 0 or records_returned <> 0 or problems_raised <> 0
                order by 1
                """
            let kept = try await pool.query(figures).map { try $0.decode(0, as: String.self) }
            try await pool.query("select huifang.recount_person_month_figures()")
            let counted = try await pool.query(figures).map { try $0.decode(0, as: String.self) }
            return !kept.isEmpty && kept == counted
        }
    }

    static func department(_ fixture: OrganizationFixture, _ database: TestDatabase, _ code: String) async throws -> Int {
        try await database.withPool { try await $0.query("select id from huifang.departments where code = \(code)").single().decode(0) }
    }

    @Test func deadlinesCountWorkingDaysAcrossNationalDayAndTheBreachFiresAtShanghaiMidnight() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let problem = try await Self.raise(api, fixture)
            let ops = Actor(api: api, token: try await api.token("opsA"))
            let center = Actor(api: api, token: try await api.token("opsCenter"))
            #expect(try await ops.step(problem, "approve").status == .ok)
            let forwarded = try await center.step(problem, "forward", ["departmentIds": [Self.department(fixture, database, "IT")]])
            let forwarding = try #require((try forwarded.json()["forwardings"] as? [[String: Any]])?.first?["id"] as? Int)
            // Raised on Tue 29 Sep 2026, received by IT on Wed 30 Sep at 16:00 (Shanghai).
            try await database.withPool { pool in
                try await pool.query(
                    "update huifang.timers set started_at = '2026-09-29 10:00+08' where subject_kind = 'problem' and subject_id = \(problem)")
                try await pool.query(
                    "update huifang.timers set started_at = '2026-09-30 16:00+08' where subject_kind = 'problem_forwarding' and subject_id = \(forwarding)")
            }
            let shown = try await center.read(problem).json
            // 1–7 Oct off, Sat 10 Oct worked: day 15 is Mon 26 Oct; day 2 after 30 Sep is Fri 9 Oct.
            #expect(((shown["problem"] as? [String: Any])?["clock"] as? [String: Any])?["dueAt"] as? String == "2026-10-26T16:00:00Z")
            let clock = try #require((shown["forwardings"] as? [[String: Any]])?.first?["clock"] as? [String: Any])
            #expect(clock["dueAt"] as? String == "2026-10-09T16:00:00Z")
            #expect(clock["state"] as? String == "breached")
            let stages: [String: Date] = try await database.withPool { pool in
                let row = try await pool.query(
                    """
                    select stage_names, array(select extract(epoch from x)::text from unnest(stage_at) x) from huifang.timers
                    where subject_kind = 'problem_forwarding' and subject_id = \(forwarding)
                    """
                ).single()
                let names: [String] = try row.decode(0)
                let epochs: [String] = try row.decode(1)
                return Dictionary(uniqueKeysWithValues: zip(names, epochs.compactMap(Double.init).map { Date(timeIntervalSince1970: $0) }))
            }
            let midnight = ISO8601DateFormatter().date(from: "2026-10-10T00:00:00+08:00")!
            #expect(stages["breached"] == midnight, "the breach is at 00:00 on 10 Oct Shanghai, not earlier")
            #expect(try #require(stages["warning_75"]) < midnight)
        }
    }

    @Test func aTransitionOutsideTheTableIs409AndChangesNothingAndAStaleVersionIs412() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let problem = try await Self.raise(api, fixture)
            let rp = Actor(api: api, token: try await api.token("rpA"))
            let ops = Actor(api: api, token: try await api.token("opsA"))
            let center = Actor(api: api, token: try await api.token("opsCenter"))
            let before = try await rp.read(problem)
            #expect(try await rp.step(problem, "resubmit").status == .conflict)
            #expect(try await rp.step(problem, "provide-info", ["text": "x"]).status == .conflict)
            #expect(try await ops.step(problem, "approve").status == .ok)
            let atHQ = try await rp.read(problem)
            for (actor, path, body) in [
                (ops, "approve", nil), (ops, "return", ["reason": "needs the client's account details"]), (rp, "resubmit", nil), (rp, "provide-info", ["text": "x"]),
                (center, "relays", ["recipient": "client", "channel": "phone"]),
            ] as [(Actor, String, [String: Any]?)] {
                let refused = try await actor.step(problem, path, body)
                #expect(refused.status == .conflict, "\(path): \(refused.text)")
                #expect(refused.headers[.contentType] == "application/problem+json")
            }
            let after = try await rp.read(problem)
            #expect(after.etag == atHQ.etag, "nothing changed")
            #expect(before.etag != atHQ.etag)

            // A stale version: someone claimed it meanwhile.
            #expect(try await api.send(.post, "/problems/\(problem)/claim", token: center.token, json: [String: Any](), ifMatch: before.etag).status.code == 412)
            // Two people forward at once with the same version: one wins, the other gets 412.
            let it = try await Self.department(fixture, database, "IT")
            let legal = try await Self.department(fixture, database, "LEGAL")
            let other = try await api.token("opsCenter")
            let read = atHQ.etag
            let token = center.token
            async let first = api.send(.post, "/problems/\(problem)/forward", token: other, json: ["departmentIds": [it]], ifMatch: read)
            async let second = api.send(.post, "/problems/\(problem)/forward", token: token, json: ["departmentIds": [legal]], ifMatch: read)
            let statuses = [try await first.status.code, try await second.status.code].sorted()
            #expect(statuses == [200, 412])
            let forwardings = (try await center.read(problem).json["forwardings"] as? [Any])?.count
            #expect(forwardings == 1)

            // And the database refuses a jump whatever the service layer does.
            let jump = await #expect(throws: PostgresError.self) {
                try await database.withPool(database.application) { pool in
                    let access = Access(staffId: fixture.staff["opsCenter"]!, action: .triageProblems, branchIds: [], allBranches: false,
                                        organization: false, departmentIds: [try await Self.department(fixture, database, "BOC")])
                    try await pool.transaction(for: access) {
                        try await $0.execute("update huifang.problems set state = 'closed', last_action = 'relay_client' where id = \(problem)")
                    }
                }
            }
            #expect(jump?.constraint == "problems_transition")
        }
    }

    @Test func aFunctionalDepartmentSeesOnlyWhatWasForwardedToItAndOnlyItsOwnSteps() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let problem = try await Self.raise(api, fixture)
            #expect(try await Actor(api: api, token: try await api.token("opsA")).step(problem, "approve").status == .ok)
            let center = Actor(api: api, token: try await api.token("opsCenter"))
            let legalToken = try await api.token("legal")
            #expect(try await center.step(problem, "forward", ["departmentIds": [Self.department(fixture, database, "IT")]]).status == .ok)
            let itQueue = try await api.send(.get, "/forwardings", token: try await api.token("functional"))
            let itForwarding = try #require((try itQueue.json()["items"] as? [[String: Any]])?
                .first(where: { $0["problemId"] as? Int == problem }))
            // Legal was not forwarded this problem: not in its queue, not readable, not answerable.
            #expect(try await api.send(.get, "/problems/\(problem)", token: legalToken).status == .notFound)
            let legalQueue = try await api.send(.get, "/forwardings", token: legalToken)
            #expect((try legalQueue.json()["items"] as? [Any])?.isEmpty == true)
            let hijack = try await api.send(
                .post, "/forwardings/\(itForwarding["id"] as! Int)/answer", token: legalToken, json: ["text": "ours now"],
                ifMatch: itForwarding["etag"] as? String)
            #expect(hijack.status == .notFound)
            let listed = try await api.send(.get, "/problems", token: legalToken)
            #expect((try listed.json()["items"] as? [Any])?.isEmpty == true)
            // In SQL, with the problem's ids: nothing.
            let seen: Int = try await database.withPool(database.application) { pool in
                let access = Access(staffId: fixture.staff["legal"]!, action: .readProblems, branchIds: [], allBranches: false,
                                    organization: false, departmentIds: [try await Self.department(fixture, database, "LEGAL")])
                return try await pool.transaction(for: access) {
                    try await $0.query(
                        """
                        select (select count(*) from huifang.problems where id = \(problem))
                             + (select count(*) from huifang.problem_forwardings where problem_id = \(problem))
                             + (select count(*) from huifang.problem_events where problem_id = \(problem))
                        """
                    ).single().decode(0)
                }
            }
            #expect(seen == 0)
            // The branch sees its own outstanding problems; the counts agree with the queues.
            let counts = try await api.send(.get, "/problems/counts?queue=triage", token: center.token)
            #expect(try counts.json()["forwarded"] as? Int == 1, "\(counts.text)")
            let branch = try await api.send(.get, "/problems?queue=branch", token: try await api.token("managerA"))
            #expect((try branch.json()["items"] as? [[String: Any]])?.contains { $0["id"] as? Int == problem } == true)
            // A department that reads no branch has no branch queue: it is told where its problems are.
            for path in ["/problems?queue=branch", "/problems/counts?queue=branch"] {
                let refused = try await api.send(.get, path, token: center.token)
                #expect(refused.status == .forbidden, "\(path): \(refused.text)")
                #expect(try refused.problem().detail?.contains("triage queue") == true, "\(refused.text)")
            }
        }
    }
}
