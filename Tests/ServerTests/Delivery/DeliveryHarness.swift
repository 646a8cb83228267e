import Delivery
import Domain
import Foundation
import HTTPTypes
import Postgres
import Server
import Store
import TestSupport

/// A fixture application whose delivery workers reach a webhook sink and an SMTP sink on 127.0.0.1,
/// with retries and timeouts short enough for a test.
struct DeliveryHarness {
    let api: APIClient
    let fixture: OrganizationFixture
    let database: TestDatabase
    let webhook: WebhookSink
    let smtp: SMTPSink
    let admin: String

    static func run(
        retry: RetrySchedule = RetrySchedule(base: .milliseconds(20), cap: .milliseconds(100), giveUpAfter: .seconds(60)),
        responseTimeout: Duration = .seconds(10),
        respond: @escaping @Sendable (Int, WebhookSink.Request) -> WebhookSink.Answer = { _, _ in .status(200, body: #"{"errcode":0,"errmsg":"ok"}"#) },
        _ body: @escaping @Sendable (DeliveryHarness) async throws -> Void
    ) async throws {
        let webhook = try await WebhookSink.start(respond: respond)
        let smtp = try await SMTPSink.start()
        defer { Task { await webhook.stop(); await smtp.stop() } }
        try await withFixtureApp(configure: { configuration in
            var engine = DeliveryEngine.Configuration()
            engine.retry = retry
            engine.http = .init(connect: .seconds(5), response: responseTimeout)
            engine.relay = SMTPRelay(host: "127.0.0.1", port: smtp.port, startTLS: false, from: "huifang@test")
            configuration.deliveryWorkers = .init(workers: 1, pollInterval: .milliseconds(200), engine: engine)
        }) { api, fixture, database in
            let admin = try await api.token("admin")
            let allowed = try await api.send(
                .put, "/delivery-hosts/127.0.0.1", token: admin,
                json: ["allowHttp": true, "allowPrivate": true, "reason": "the test's own receivers"])
            guard allowed.status == .ok else { throw TestFailure("allowing 127.0.0.1: \(allowed.status) \(allowed.text)") }
            let harness = DeliveryHarness(api: api, fixture: fixture, database: database, webhook: webhook, smtp: smtp, admin: admin)
            // The fixture's own overdue clocks fire now, before any channel exists: only the test's reach the sinks.
            try await harness.fireDueStages()
            try await body(harness)
        }
    }

    /// Adds a channel for branch A's ops director through the API (as the admin) and returns its JSON.
    func addChannel(_ fields: [String: Any], kinds: [String] = ["breach"]) async throws -> [String: Any] {
        var json = fields
        json["branchId"] = fixture.branchA
        json["role"] = "ops_director"
        json["name"] = json["name"] ?? "test channel"
        json["notificationKinds"] = kinds
        let reply = try await api.send(.post, "/delivery-channels", token: admin, json: json)
        guard reply.status == .created else { throw TestFailure("adding a channel: \(reply.status) \(reply.text)") }
        return try reply.json()
    }

    /// Starts `count` clocks long past every stage, for branch A's ops director, and fires every stage
    /// as the SLA engine: each clock writes a warning at 50 % and 75 %, a breach and an escalation.
    func breach(count: Int = 1, title: String = "Problem 1: client 李四 C0001 complained") async throws {
        try await database.withPool { pool in
            try await pool.transaction { db in
                for id in 1...count {
                    _ = try await Timers(db).start(
                        TimerSubject(branchId: fixture.branchA, kind: "problem", id: Int64(900_000 + id), clock: "problem_loop"),
                        startedAt: Date(timeIntervalSince1970: 1_772_416_800), workdays: 2, title: title,
                        notify: [Recipient(role: "ops_director", branchId: fixture.branchA)])
                }
            }
        }
        try await fireDueStages()
    }

    func fireDueStages() async throws {
        try await database.withPool(database.application) { pool in
            let engine = SLAEngine(pool: pool)
            while try await engine.fireDue(limit: 500).stages > 0 {}
        }
    }

    func waitUntil(_ condition: SQL) async throws {
        try await database.withPool { try await TestSupport.waitUntil($0, condition) }
    }
}
