import Delivery
import Foundation
import HTTPTypes
import Postgres
import Store
import Testing
import TestSupport

/// Channels and deliveries as an attacker meets them: a branch user going after another branch's or a
/// department's, over HTTP and in SQL as the request role.
@Suite("Delivery channels across tenants")
struct DeliveryAccessTests {
    @Test func aBranchUserReachesNoOtherBranchsOrDepartmentsChannels() async throws {
        try await DeliveryHarness.run { h in
            let channelA = try #require(try await h.addChannel(["kind": "webhook", "url": h.webhook.url])["id"] as? Int)
            let itDepartment: Int = try await h.database.withPool {
                try await $0.query("select id from huifang.departments where code = 'IT'").single().decode(0)
            }
            let itChannel = try await h.api.send(
                .post, "/delivery-channels", token: h.admin,
                json: ["departmentId": itDepartment, "kind": "email", "name": "IT", "addresses": ["it@example.com"], "notificationKinds": ["handoff"]])
            let channelIT = try #require(try itChannel.json()["id"] as? Int)
            try await h.breach()
            try await h.waitUntil("select count(*) = 1 from huifang.deliveries where state = 'delivered' and notification_id is not null")
            let deliveryA: Int64 = try await h.database.withPool {
                try await $0.query("select id from huifang.deliveries where notification_id is not null").single().decode(0)
            }

            let opsB = try await h.api.token("opsB")
            for id in [channelA, channelIT] {
                #expect(try await h.api.send(.get, "/delivery-channels/\(id)", token: opsB).status == .notFound)
                #expect(try await h.api.send(.patch, "/delivery-channels/\(id)", token: opsB, json: ["enabled": false]).status == .notFound)
                #expect(try await h.api.send(.delete, "/delivery-channels/\(id)", token: opsB).status == .notFound)
            }
            // Branch B's own channel (the fixture's) and nothing else.
            let listed = try await h.api.send(.get, "/delivery-channels", token: opsB).jsonArray()
            #expect(listed.map { $0["branchId"] as? Int } == [h.fixture.branchB])
            #expect(try await h.api.send(.get, "/deliveries/\(deliveryA)", token: opsB).status == .notFound)
            #expect(try await h.api.send(.post, "/deliveries/\(deliveryA)/retry", token: opsB).status == .notFound)
            let deliveries = try await h.api.send(.get, "/deliveries", token: opsB).json()["items"] as? [[String: Any]] ?? []
            #expect(!deliveries.isEmpty && !deliveries.contains { $0["id"] as? Int == Int(deliveryA) })
            let intoA = try await h.api.send(
                .post, "/delivery-channels", token: opsB,
                json: ["branchId": h.fixture.branchA, "role": "ops_director", "kind": "webhook", "name": "mine now",
                       "url": "https://attacker.example.com/x", "notificationKinds": ["breach"]])
            #expect(intoA.status == .forbidden)
            // Another department's staff, and a branch role without the permission.
            let legal = try await h.api.token("legal")
            #expect(try await h.api.send(.get, "/delivery-channels/\(channelIT)", token: legal).status == .notFound)
            #expect(try await h.api.send(.get, "/delivery-channels", token: try await h.api.token("deskA")).status == .forbidden)
            #expect(try await h.api.send(.get, "/delivery-hosts", token: try await h.api.token("opsA")).status == .forbidden)
            // Its own branch's ops director sees the channel, never the secret.
            let own = try await h.api.send(.get, "/delivery-channels/\(channelA)", token: try await h.api.token("opsA")).json()
            #expect(own["secretSet"] as? Bool == true)
            #expect(own["generatedSecret"] == nil)

            // In SQL as the request role, scoped to branch B with the manage action.
            try await h.database.withPool(h.database.application) { pool in
                try await pool.transaction(settings: [
                    ("huifang.staff_id", String(h.fixture.staff["opsB"]!)), ("huifang.branch_ids", "{\(h.fixture.branchB)}"),
                    ("huifang.action", "manageDeliveryChannels"),
                ]) { (db: Connection) async throws in
                    let channels: Int = try await db.query(
                        "select count(*)::int from huifang.delivery_channels where id = any(\([Int64(channelA), Int64(channelIT)]))").single().decode(0)
                    let deliveries: Int = try await db.query(
                        "select count(*)::int from huifang.deliveries where id = \(deliveryA)").single().decode(0)
                    let attempts: Int = try await db.query(
                        "select count(*)::int from huifang.delivery_attempts where delivery_id = \(deliveryA)").single().decode(0)
                    #expect(channels == 0 && deliveries == 0 && attempts == 0)
                    let disabled = try await db.execute(
                        "update huifang.delivery_channels set enabled = false where id = any(\([Int64(channelA), Int64(channelIT)]))")
                    let revived = try await db.execute("update huifang.deliveries set state = 'pending', next_attempt_at = now() where id = \(deliveryA)")
                    #expect(disabled == 0 && revived == 0)
                }
                // Nobody but the engine reads a secret, even of their own branch's channel.
                await #expect(throws: PostgresError.self) {
                    try await pool.transaction(settings: [
                        ("huifang.staff_id", String(h.fixture.staff["opsA"]!)), ("huifang.branch_ids", "{\(h.fixture.branchA)}"),
                    ]) { db in try await db.query("select secret from huifang.delivery_channels") }
                }
                await #expect(throws: PostgresError.self) {
                    try await pool.transaction { db in try await db.query("select * from huifang.claim_deliveries(10, '1 minute')") }
                }
            }
        }
    }
}
