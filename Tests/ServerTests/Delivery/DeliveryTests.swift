import Delivery
import Domain
import Foundation
import HTTPTypes
import Postgres
import Server
import ServiceLifecycle
import Testing
import TestSupport

@Suite("Delivery of notifications to webhooks and e-mail")
struct DeliveryTests {
    @Test func aBreachReachesEveryChannelOnceSignedAndWithoutPersonalData() async throws {
        try await DeliveryHarness.run { h in
            let webhook = try await h.addChannel(["kind": "webhook", "url": h.webhook.url])
            let secret = try #require(webhook["generatedSecret"] as? String)
            _ = try await h.addChannel(["kind": "wecom", "url": "http://127.0.0.1:\(h.webhook.port)/wecom?key=robot-key"])
            let dingSecret = "SEC" + String(repeating: "d", count: 40)
            _ = try await h.addChannel(["kind": "dingtalk", "url": "http://127.0.0.1:\(h.webhook.port)/ding?access_token=t", "secret": dingSecret])
            _ = try await h.addChannel(["kind": "email", "addresses": ["ops-a@example.com"]])

            try await h.breach()
            try await h.waitUntil("select count(*) = 4 from huifang.deliveries where state = 'delivered' and attempts = 1 and notification_id is not null")
            let requests = try await h.webhook.waitForRequests(3)
            let messages = try await h.smtp.waitForMessages(1)
            #expect(requests.count == 3)
            #expect(messages.count == 1)

            let generic = try #require(requests.first { $0.path == "/hook" })
            let signature = try #require(generic.header("Huifang-Signature"))
            #expect(WebhookSignature.verify(header: signature, secret: secret, body: generic.body))
            #expect(!WebhookSignature.verify(header: signature, secret: secret, body: generic.body + [0x20]))
            #expect(generic.header("Huifang-Delivery-Id") != nil)
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(generic.body)) as? [String: Any])
            #expect(payload["kind"] as? String == "breach")

            let ding = try #require(requests.first { $0.path.hasPrefix("/ding") })
            let query = URLComponents(string: ding.path)?.queryItems ?? []
            let timestamp = try #require(query.first { $0.name == "timestamp" }?.value.flatMap(Int64.init))
            #expect(query.first { $0.name == "sign" }?.value.map { "timestamp=\(timestamp)&sign=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~")))!)" }
                    == WebhookSignature.dingTalkQuery(secret: dingSecret, milliseconds: timestamp))
            #expect(messages[0].recipients == ["ops-a@example.com"])
            #expect(messages[0].subject?.contains("SLA breached") == true)

            // Titles carry client names and numbers: no message repeats them.
            let everything = requests.map { String(decoding: $0.body, as: UTF8.self) } + messages.map(\.data)
            for text in everything {
                #expect(!text.contains("李四") && !text.contains("C0001"), "\(text)")
            }
        }
    }

    @Test func aReceiverFailingTwiceGetsItOnTheThirdTry() async throws {
        try await DeliveryHarness.run(respond: { number, _ in number <= 2 ? .status(500, body: "busy") : .status(200, body: "ok") }) { h in
            _ = try await h.addChannel(["kind": "webhook", "url": h.webhook.url])
            try await h.breach()
            try await h.waitUntil("select count(*) = 1 from huifang.deliveries where state = 'delivered' and notification_id is not null")
            let id: Int64 = try await h.database.withPool { try await $0.query("select id from huifang.deliveries where notification_id is not null").single().decode(0) }
            let detail = try await h.api.send(.get, "/deliveries/\(id)", token: h.admin).json()
            let attempts = try #require(detail["attempts"] as? [[String: Any]])
            #expect(attempts.map { $0["outcome"] as? String } == ["failed", "failed", "delivered"])
            #expect(attempts.map { $0["statusCode"] as? Int } == [500, 500, 200])
            #expect(attempts.first?["responseExcerpt"] as? String == "busy")
            #expect(h.webhook.received.count == 3)
            let ids = Set(h.webhook.received.compactMap { $0.header("Huifang-Delivery-Id") })
            #expect(ids == [String(id)], "every attempt carries the same idempotency id")
        }
    }

    @Test func aReceiverThatNeverAnswersEndsDeadVisibly() async throws {
        try await DeliveryHarness.run(
            retry: .init(base: .milliseconds(50), cap: .milliseconds(100), giveUpAfter: .milliseconds(600)),
            responseTimeout: .milliseconds(200), respond: { _, _ in .never }
        ) { h in
            _ = try await h.addChannel(["kind": "webhook", "url": h.webhook.url])
            try await h.breach()
            try await h.waitUntil("select count(*) = 1 from huifang.deliveries where state = 'dead'")

            let health = try await h.api.send(.get, "/health").json()
            #expect(health["status"] as? String == "warn")
            let delivery = (health["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "delivery" }
            #expect(delivery?["warning"] as? Bool == true)
            let metrics = try await h.api.send(.get, "/metrics").text
            #expect(metrics.contains(#"huifang_deliveries{state="dead"} 1"#))

            let dead = try await h.api.send(.get, "/deliveries?state=dead", token: h.admin).json()
            let items = try #require(dead["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect((items[0]["lastError"] as? String)?.contains("no response") == true)
            let id = try #require(items[0]["id"] as? Int)
            let retried = try await h.api.send(.post, "/deliveries/\(id)/retry", token: h.admin)
            #expect(retried.status == .ok)
            #expect(try retried.json()["state"] as? String == "pending")
            #expect(try await h.api.send(.post, "/deliveries/\(id)/retry", token: h.admin).status == .conflict)
        }
    }

    @Test func loopbackAndPrivateURLsAreRefusedUnlessAllowed() async throws {
        try await DeliveryHarness.run { h in
            func add(_ url: String) async throws -> APIClient.Reply {
                try await h.api.send(
                    .post, "/delivery-channels", token: h.admin,
                    json: ["branchId": h.fixture.branchA, "role": "ops_director", "kind": "webhook", "name": "x", "url": url,
                           "notificationKinds": ["breach"]])
            }
            for url in ["https://10.1.2.3/hook", "https://127.0.0.2/hook", "https://[::1]/hook", "https://[::ffff:10.0.0.1]/hook",
                        "https://169.254.169.254/latest", "https://2130706433/hook", "https://localhost/hook", "http://example.com/hook",
                        "https://user:pw@example.com/hook", "ftp://example.com/x"] {
                let reply = try await add(url)
                #expect(reply.status == .unprocessableContent, "\(url)")
                #expect(try reply.fieldErrors().first?.hasPrefix("url:") == true, "\(url)")
            }
            #expect(try await add("https://hooks.example.com/huifang").status == .created)
            let allowed = try await h.api.send(
                .put, "/delivery-hosts/10.1.2.3", token: h.admin, json: ["allowPrivate": true, "reason": "the bank's own alerting gateway"])
            #expect(allowed.status == .ok)
            #expect(try await add("https://10.1.2.3/hook").status == .created)

            // Checked again at delivery: narrowing the exception to http alone refuses the loopback address.
            _ = try await h.addChannel(["kind": "webhook", "url": h.webhook.url])
            let narrowed = try await h.api.send(
                .put, "/delivery-hosts/127.0.0.1", token: h.admin, json: ["allowHttp": true, "reason": "no longer the machine itself"])
            #expect(narrowed.status == .ok)
            try await h.breach()
            try await h.waitUntil(
                """
                select count(*) > 0 from huifang.delivery_attempts a join huifang.deliveries d on d.id = a.delivery_id
                join huifang.delivery_channels c on c.id = d.channel_id
                where c.url like 'http://127.0.0.1%' and a.outcome = 'refused' and a.error like '%loopback%'
                """)
            #expect(h.webhook.received.isEmpty)
        }
    }

    @Test func twoWorkerServicesDeliverEachNotificationOnce() async throws {
        try await DeliveryHarness.run { h in
            _ = try await h.addChannel(["kind": "webhook", "url": h.webhook.url])
            var engine = DeliveryEngine.Configuration()
            engine.batchSize = 5
            let second = DeliveryWorkerService.Configuration(workers: 2, pollInterval: .milliseconds(100), engine: engine)
            try await withSecondWorker(h, second) {
                try await h.breach(count: 40)
                try await h.waitUntil("select count(*) = 40 from huifang.deliveries where state = 'delivered' and notification_id is not null")
            }
            let ids = h.webhook.received.compactMap { $0.header("Huifang-Delivery-Id") }
            #expect(ids.count == 40)
            #expect(Set(ids).count == 40)
        }
    }

    /// Runs another delivery service (as `huifang worker` would) beside the application's own while `body` runs.
    private func withSecondWorker(
        _ h: DeliveryHarness, _ configuration: DeliveryWorkerService.Configuration, _ body: () async throws -> Void
    ) async throws {
        try await h.database.withPool(h.database.application, size: 3) { pool in
            let service = try DeliveryWorkerService(pool: pool, listen: h.database.application, configuration: configuration, logger: TestCluster.quietLogger)
            let group = ServiceGroup(configuration: .init(services: [service], logger: TestCluster.quietLogger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }
}
