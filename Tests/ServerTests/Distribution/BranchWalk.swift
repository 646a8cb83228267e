import Foundation
import HTTPTypes
import Postgres
import TestSupport

@testable import Benchmarks

/// A day of branch A's work over HTTP, each request named by a marker in the plan log: every role
/// of the branch opens every daily list and reads a client, task, record, problem, upload,
/// directive and evaluation; the callback and problem loops are walked step by step, with HQ's
/// steps in between (marked as HQ's: their statements are not a branch's).
final class BranchWalk {
    struct Request: Sendable {
        var name: String
        /// The caller's one branch; nil for an HQ caller.
        var branch: Int?
    }

    let api: APIClient
    let log: PlanLog
    let fixture: OrganizationFixture
    private(set) var requests: [Request] = []
    /// Steps that did not answer as the walk needs: the walk did not cover what it says.
    private(set) var failures: [String] = []
    private var tokens: [String: String] = [:]

    init(api: APIClient, log: PlanLog, fixture: OrganizationFixture) {
        self.api = api
        self.log = log
        self.fixture = fixture
    }

    enum Outcome { case success, anything }

    func branch(of who: String) -> Int? {
        if who.hasSuffix("A") { return fixture.branchA }
        if who.hasSuffix("B") { return fixture.branchB }
        return nil
    }

    @discardableResult
    func send(
        _ who: String, _ method: HTTPRequest.Method, _ path: String, json: Any? = nil, accept: String? = nil, ifMatch: String? = nil,
        _ outcome: Outcome = .success
    ) async throws -> APIClient.Reply {
        let token = try await token(who)
        let name = String(format: "%03d ", requests.count) + "\(who) \(method) \(path)" + (accept.map { " (\($0))" } ?? "")
        try await log.mark(name)
        requests.append(Request(name: name, branch: branch(of: who)))
        let reply = try await api.send(method, path, token: token, json: json, accept: accept, ifMatch: ifMatch)
        let fine = outcome == .success ? (200..<300).contains(reply.status.code) : reply.status.code < 500
        if !fine { failures.append("\(name) answered \(reply.status.code): \(reply.text.prefix(300))") }
        return reply
    }

    /// Signs in (a request of its own) the first time.
    func token(_ who: String) async throws -> String {
        if let token = tokens[who] { return token }
        let name = String(format: "%03d ", requests.count) + "\(who) POST /sessions"
        try await log.mark(name)
        requests.append(Request(name: name, branch: branch(of: who)))
        let token = try await api.token(who)
        tokens[who] = token
        return token
    }

    /// A step on a problem, naming the version its caller just read.
    @discardableResult
    func step(_ who: String, problem: Int, _ path: String, _ body: [String: Any] = [:]) async throws -> APIClient.Reply {
        let read = try await send(who, .get, "/problems/\(problem)")
        return try await send(who, .post, "/problems/\(problem)/\(path)", json: body, ifMatch: read.headers[.eTag])
    }

    static let branchRoles = ["opsA", "mktA", "managerA", "rpA", "deskA"]

    struct Known: Sendable {
        var task: Int64
        var record: Int64
        var problem: Int64
        var upload: Int64
        var directive: Int64
        var feedback: Int64
        var evaluation: Int64
        var it: Int
    }

    /// What the fixture made for branch A, read as the owner before the walk.
    static func known(_ owner: Pool, _ fixture: OrganizationFixture) async throws -> Known {
        let a = fixture.branchA
        func id(_ sql: SQL) async throws -> Int64 { try await owner.query(sql).single().decode(0) }
        return Known(
            task: try await fixture.newAccountTaskA(in: owner),
            record: try await id("select min(id) from huifang.records where branch_id = \(a)"),
            problem: try await id("select min(id) from huifang.problems where branch_id = \(a)"),
            upload: try await id("select id from huifang.record_uploads where branch_id = \(a) and month = '2026-06'"),
            directive: try await id("select min(directive_id) from huifang.directive_targets where branch_id = \(a)"),
            feedback: try await id("select min(id) from huifang.directive_feedback where branch_id = \(a)"),
            evaluation: try await id("select min(id) from huifang.evaluations where branch_id = \(a)"),
            it: Int(try await id("select id::bigint from huifang.departments where code = 'IT'")))
    }

    func run(_ known: Known) async throws {
        let a = fixture.branchA
        // Every daily list and count of every branch role (a role that may not read one gets 403).
        for who in Self.branchRoles {
            for path in ListCatalogue.paths(month: "2026-06", year: "2026", branchId: Int32(a)) {
                try await send(who, .get, path, .anything)
            }
        }
        // Reading one of each.
        let client = fixture.clientA
        for who in ["opsA", "managerA", "rpA"] {
            for path in ListCatalogue.clientPaths(clientId: client) + [
                "/me", "/branches/\(a)", "/clients/\(client)/referrers", "/clients/\(client)/asset-snapshots",
                "/brokers/\(fixture.brokerA)", "/staff/\(fixture.staff["rpA"]!)",
                "/staff/\(fixture.staff["rpA"]!)/grants", "/tasks/\(known.task)", "/tasks/\(known.task)/explanation",
                "/tasks/\(known.task)/attempts", "/records/\(known.record)", "/problems/\(known.problem)",
                "/record-uploads/\(known.upload)", "/directives/\(known.directive)", "/evaluations/\(known.evaluation)",
                "/calendars/cn_workday/years/2026",
            ] {
                // The directive is S&T HQ's: a branch sees it only through its targets' tasks.
                try await send(who, .get, path, who == "opsA" && !path.hasPrefix("/directives/") ? .success : .anything)
            }
        }
        try await send("opsA", .get, "/records/\(known.record)", accept: "text/html")
        try await callbackLoop(known)
        try await problemLoop(known)
        try await branchChores(known)
        try await send("mktA", .delete, "/sessions/current")
    }

    /// Assign, start, attempt, record, return, correct, sign, countersign, archive, amend, raise and dismiss findings.
    func callbackLoop(_ known: Known) async throws {
        let task = known.task
        try await send("opsA", .post, "/tasks/\(task)/assign", json: ["staffId": fixture.staff["rpA"]!])
        try await send("rpA", .post, "/tasks/\(task)/start")
        try await send("rpA", .post, "/tasks/\(task)/attempts", json: ["attemptedAt": "2026-06-30T10:00:00+08:00", "channel": "phone", "outcome": "reached"], .anything)
        let created = try await send("rpA", .post, "/records", json: ["taskId": task, "answers": RecordAPITests.newAccountAnswers])
        guard let record = try created.json()["id"] as? Int else { return }
        try await send("rpA", .put, "/records/\(record)", json: ["answers": RecordAPITests.newAccountAnswers])
        try await send("rpA", .post, "/records/\(record)/submit")
        try await send("opsA", .get, "/records?awaitingMySignature=true&limit=50")
        try await send("opsA", .post, "/records/\(record)/return", json: ["reason": "no evidence reference for the call"])
        var fixed = RecordAPITests.newAccountAnswers
        fixed["notes"] = "recording attached"
        try await send("rpA", .put, "/records/\(record)", json: ["answers": fixed])
        try await send("rpA", .post, "/records/\(record)/submit")
        try await send("opsA", .post, "/records/\(record)/countersign")
        try await send("opsA", .post, "/records/\(record)/archive")
        fixed["durationMinutes"] = 8
        let amendment = try await send("rpA", .post, "/records/\(record)/amendments", json: ["answers": fixed, "reason": "the call lasted 8 minutes"])
        if let amended = try amendment.json()["id"] as? Int {
            try await send("rpA", .post, "/records/\(amended)/submit")
            try await send("opsA", .post, "/records/\(amended)/countersign")
        }
        let read = try await send("rpA", .get, "/records/\(record)")
        let findings = (try read.json()["findings"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
        guard findings.count == 2 else { return failures.append("the record has findings \(findings)") }
        let raised = try await send(
            "rpA", .post, "/records/\(record)/findings/\(findings[0])/raise", json: ["category": "system_issue", "severity": "medium"])
        try await send("rpA", .post, "/records/\(record)/findings/\(findings[1])/dismiss", json: ["reason": "the client found the research on the website"])
        if let problem = try raised.json()["id"] as? Int {
            try await step("opsA", problem: problem, "approve")
        }
        try await send("opsA", .get, "/clients/\(fixture.clientA)/file")
    }

    /// Raise, return, resubmit, approve; HQ claims and asks; the branch answers; HQ forwards, IT
    /// answers, HQ accepts and relays; the branch reopens.
    func problemLoop(_ known: Known) async throws {
        let raised = try await send(
            "rpA", .post, "/problems",
            json: ["clientId": fixture.clientA, "category": "system_issue", "severity": "high", "description": "交易软件行情延迟 Quotes lag"])
        guard let problem = (try raised.json()["problem"] as? [String: Any])?["id"] as? Int else { return }
        try await step("opsA", problem: problem, "return", ["reason": "needs the client's account details"])
        try await step("rpA", problem: problem, "resubmit")
        try await step("opsA", problem: problem, "approve")
        try await step("opsCenter", problem: problem, "claim")
        try await step("opsCenter", problem: problem, "request-info", ["text": "Which app version?"])
        try await step("rpA", problem: problem, "provide-info", ["text": "Android 14, version 8.2"])
        try await step("opsCenter", problem: problem, "forward", ["departmentIds": [known.it]])
        let queue = try await send("functional", .get, "/forwardings")
        guard let forwarding = (try queue.json()["items"] as? [[String: Any]])?.first(where: { $0["problemId"] as? Int == problem }),
              let forwardingId = forwarding["id"] as? Int
        else { return failures.append("IT has no forwarding of problem \(problem): \(queue.text.prefix(300))") }
        let acknowledged = try await send("functional", .post, "/forwardings/\(forwardingId)/acknowledge", ifMatch: forwarding["etag"] as? String)
        let answered = try await send(
            "functional", .post, "/forwardings/\(forwardingId)/answer", json: ["text": "行情服务器已扩容 Quote servers scaled out"],
            ifMatch: acknowledged.headers[.eTag] ?? (try acknowledged.json()["etag"] as? String))
        if let answer = try answered.json()["id"] as? Int {
            try await step("opsCenter", problem: problem, "forwardings/\(answer)/accept")
        }
        for recipient in ["branch_leader", "responsible_person"] {
            try await step("opsCenter", problem: problem, "relays", ["recipient": recipient, "channel": "system"])
        }
        try await step("opsCenter", problem: problem, "relays", ["recipient": "client", "channel": "phone", "note": "客户表示满意"])
        try await send("rpA", .post, "/problems/\(problem)/reopen", json: ["reason": "客户仍觉行情延迟"])
        try await send("managerA", .get, "/problems/\(problem)")
    }

    /// The rest of a branch's day: clients, brokers, snapshots, notifications, the monthly
    /// upload, a directive's feedback, a delivery channel, a bulk assignment.
    func branchChores(_ known: Known) async throws {
        let a = fixture.branchA
        let opened = try await send(
            "deskA", .post, "/clients",
            json: ["branchId": a, "clientNo": "C0701", "name": "赵六", "idType": "passport", "idNumber": "E5556667",
                   "openedAt": "2026-06-30T10:00:00+08:00", "referrerBrokerId": fixture.brokerA])
        if let client = try opened.json()["id"] as? Int {
            try await send("opsA", .patch, "/clients/\(client)", json: ["name": "赵六六"])
            try await send("opsA", .post, "/clients/\(client)/flags", json: ["fields": ["phone"], "reason": "no phone number on file"])
            try await send("opsA", .post, "/asset-snapshots", json: ["snapshots": [["clientId": client, "asOf": "2026-06-30", "totalAssets": "100.00"]]])
            try await send("opsA", .post, "/clients/\(client)/close", json: ["reason": "client request"])
        }
        try await send("opsA", .post, "/clients/\(fixture.clientA)/reveal", json: ["fields": ["phone"], "reason": "need to call"])
        let broker = try await send("opsA", .post, "/brokers", json: ["branchId": a, "agentNo": "AG9", "name": "赵经纪"])
        if let id = try broker.json()["id"] as? Int {
            try await send("opsA", .patch, "/brokers/\(id)", json: ["name": "赵经纪人"])
        }
        let tasks = try await send("opsA", .get, "/tasks?state=open&limit=50")
        let open = (try tasks.json()["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
        try await send("opsA", .post, "/tasks/bulk-assign", json: ["branchId": a, "taskIds": Array(open.prefix(2)), "staffIds": [fixture.staff["deskA"]!]])
        if let last = open.last {
            try await send("opsA", .post, "/tasks/\(last)/cancel", json: ["reason": "duplicate of another callback"], .anything)
        }
        let notifications = try await send("opsA", .get, "/notifications?unread=true&limit=50")
        if let first = (try notifications.json()["items"] as? [[String: Any]])?.first?["id"] as? Int {
            try await send("opsA", .post, "/notifications/\(first)/read")
        }
        try await send("opsA", .post, "/record-uploads/\(known.upload)/submit", .anything)
        try await send("opsA", .post, "/directive-feedback/\(known.feedback)/send", .anything)
        try await send(
            "opsA", .post, "/delivery-channels",
            json: ["branchId": a, "role": "ops_director", "kind": "webhook", "name": "ops", "url": "https://hooks.example.com/ops",
                   "notificationKinds": ["breach"]], .anything)
        try await send("rpA", .put, "/me/password", json: ["currentPassword": OrganizationFixture.password, "newPassword": "another long passphrase"])
    }
}
