import Delivery
import Foundation
import HTTPTypes
import Postgres
import Store
import Testing
import TestSupport

@Suite("The daily digest")
struct DailyDigestTests {
    /// 2026-07-01 is a Wednesday; 2026-07-04 a Saturday.
    static func shanghai(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text + "+08:00")!
    }

    @Test func composedOnceAt0830OnWorkingDaysWithCountsAndIds() async throws {
        try await DeliveryHarness.run { h in
            _ = try await h.addChannel(["kind": "webhook", "url": h.webhook.url], kinds: ["digest"])
            try await h.database.withPool(h.database.application) { pool in
                let queue = DeliveryQueue(pool: pool)
                #expect(try await queue.composeDailyDigests(now: Self.shanghai("2026-07-01T08:29:00")) == nil)
                #expect(try await queue.composeDailyDigests(now: Self.shanghai("2026-07-04T09:00:00")) == nil)
                // Two workers at once: one composes, the other finds the day taken.
                async let first = queue.composeDailyDigests(now: Self.shanghai("2026-07-01T08:30:00"))
                async let second = queue.composeDailyDigests(now: Self.shanghai("2026-07-01T08:31:00"))
                let results = [try await first, try await second]
                #expect(results.compactMap { $0 }.reduce(0, +) == 1)
                #expect(results.contains { $0 == nil })
            }
            let requests = try await h.webhook.waitForRequests(1)
            try await h.waitUntil(
                """
                select count(*) = 1 from huifang.deliveries d join huifang.delivery_digests g on g.id = d.digest_id
                where g.day = '2026-07-01' and d.state = 'delivered'
                """)
            #expect(h.webhook.received.count == 1)
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(requests[0].body)) as? [String: Any])
            let facts = try #require(payload["facts"] as? [String: Any])
            #expect(payload["kind"] as? String == "digest")
            // The fixture's open clock of branch A is long overdue.
            #expect((facts["overdue"] as? Int ?? 0) >= 1)
            #expect((payload["text"] as? String)?.contains("OVERDUE") == true)
        }
    }
}
