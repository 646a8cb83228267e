import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

@Suite("Client events over HTTP: each qualifying event opens its special callback once (Art 10, 12.3)")
struct ClientEventAPITests {
    static func event(_ id: String, _ kind: String, amount: String? = nil, branch: String = "BJ001", client: String = "C0001",
                      at: Date = Self.morning) -> [String: Any] {
        var event: [String: Any] = [
            "externalId": id, "branchCode": branch, "clientNo": client, "kind": kind,
            "occurredAt": ISO8601DateFormatter().string(from: at), "detail": ["channel": "counter"],
        ]
        if let amount { event["amount"] = amount }
        return event
    }

    /// 07:00 in Shanghai on 1 Jul 2026, an hour before the fixture app's clock; the fixture's client
    /// has a snapshot of 30 Jun (12,000,000.00 CNY).
    static let morning = ISO8601DateFormatter().date(from: "2026-07-01T07:00:00+08:00")!

    static var batch: [[String: Any]] { [
        event("CORE-1", "large_asset_movement", amount: "2000000.00"),
        event("CORE-2", "large_asset_movement", amount: "800000.00"),
        event("CORE-3", "password_reset"),
        event("CORE-4", "new_business"),
        event("CORE-5", "agent_change"),
        event("CORE-6", "account_closure"),
    ] }

    @Test func everyKindOpensOneCallbackOnceAClosureCancelsOnlyWhatItMakesPointless() async throws {
        try await withFixtureApp { api, fixture, database in
            let center = try await api.token("opsCenter")
            let first = try await api.send(.post, "/client-events", token: center, json: ["events": Self.batch])
            #expect(first.status == .ok, "\(first.text)")
            let receipt = try first.json()
            #expect(receipt["received"] as? Int == 6 && receipt["duplicates"] as? Int == 0)
            #expect(receipt["qualifying"] as? Int == 5 && receipt["tasksCreated"] as? Int == 5)
            let items = try #require(receipt["items"] as? [[String: Any]])
            #expect(items.map { $0["externalId"] as? String } == Self.batch.map { $0["externalId"] as? String })
            // 800,000 is below both the 1,000,000 CNY and the half-of-12,000,000 thresholds: no callback.
            #expect(items[1]["qualifies"] as? Bool == false && items[1]["taskId"] == nil)
            #expect((items[1]["judgement"] as? String)?.contains("below 1000000.00 CNY and 6000000.00 CNY") == true, "\(items[1])")
            #expect(items.enumerated().allSatisfy { $0.offset == 1 || $0.element["taskId"] != nil })

            // Re-sent, nothing new: the same events, no task.
            let again = try await api.send(.post, "/client-events", token: center, json: ["events": Self.batch])
            let repeated = try again.json()
            #expect(repeated["received"] as? Int == 0 && repeated["duplicates"] as? Int == 6 && repeated["tasksCreated"] as? Int == 0)
            #expect((repeated["items"] as? [[String: Any]])?.map { $0["eventId"] as? Int } == items.map { $0["eventId"] as? Int })

            try await database.withPool { pool in
                let perEvent: Int = try await pool.query(
                    "select max(n)::int from (select count(*) as n from huifang.callback_tasks where event_id is not null group by event_id) x"
                ).single().decode(0)
                #expect(perEvent == 1)
                // The closure closed the account: its new-account callback is cancelled, the special ones stay open.
                let states = try await pool.query(
                    """
                    select rule_code, state, coalesce(close_reason, '') from huifang.callback_tasks
                    where client_id = \(fixture.clientA) order by rule_code
                    """
                ).map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: String.self))" }
                #expect(states.contains("new_account_broker cancelled account closed"), "\(states)")
                for rule in ["event_account_closure", "event_agent_change", "event_large_asset_movement", "event_new_business", "event_password_reset"] {
                    #expect(states.contains("\(rule) open "), "\(rule): \(states)")
                }
                let status: String = try await pool.query("select status from huifang.clients where id = \(fixture.clientA)").single().decode(0)
                #expect(status == "closed")
            }

            // The task names its event; coverage counts the qualifying events as the population.
            let ops = try await api.token("opsA")
            let movementTask = try #require(items[0]["taskId"] as? Int)
            let explained = try await api.send(.get, "/tasks/\(movementTask)/explanation", token: ops)
            let lines = try #require(try explained.json()["lines"] as? [String], "\(explained.text)")
            #expect(lines.contains { $0.hasPrefix("created by client event CORE-1") && $0.contains("2000000.00 CNY reaches") }, "\(lines)")
            let coverage = try await api.send(.get, "/coverage?period=2026-07&branchId=\(fixture.branchA)", token: ops)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(coverage.text.utf8)) as? [[String: Any]], "\(coverage.text)")
            let movement = rows.first { $0["ruleCode"] as? String == "event_large_asset_movement" }
            #expect(movement?["population"] as? Int == 1 && movement?["open"] as? Int == 1, "\(rows)")
        }
    }

    @Test func aBadEventRefusesTheBatchAnIdReusedForAnotherEventIsAConflictAndBranchesDoNotReport() async throws {
        try await withFixtureApp { api, _, database in
            let center = try await api.token("opsCenter")
            let bad = try await api.send(.post, "/client-events", token: center, json: ["events": [
                Self.event("X-1", "password_reset"),
                Self.event("X-2", "large_asset_movement"),
                Self.event("X-3", "new_business", amount: "5.00"),
                Self.event("X-1", "agent_change"),
                Self.event("X-5", "agent_change", at: Date().addingTimeInterval(86400)),
                Self.event("X-6", "large_asset_movement", amount: "12345678901234567"),
                Self.event("X-7", "password_reset", client: "NOPE"),
            ]])
            #expect(bad.status.code == 422)
            #expect(try bad.fieldErrors() == [
                "events[1].amount: is required for a large asset movement",
                "events[2].amount: applies only to large asset movements",
                "events[3].externalId: repeats events[0] of the same branch",
                "events[4].occurredAt: must not be in the future",
                "events[5].amount: must be an amount in CNY like 1200000.00, below 10^16",
            ])
            let missing = try await api.send(.post, "/client-events", token: center, json: ["events": [
                Self.event("X-1", "password_reset"), Self.event("X-7", "password_reset", branch: "SH001", client: "NOPE"),
            ]])
            #expect(try missing.fieldErrors() == ["events[1].clientNo: no client NOPE in a branch SH001 you can reach"])
            // A branch does not report: it could take the core system's ids first.
            for who in ["opsA", "deskA"] {
                #expect(try await api.send(.post, "/client-events", token: try await api.token(who),
                                           json: ["events": [Self.event("X-8", "password_reset")]]).status == .forbidden, "\(who)")
            }
            let none: Int = try await database.withPool {
                try await $0.query("select count(*)::int from huifang.client_events where external_id like 'X-%'").single().decode(0)
            }
            #expect(none == 0)

            // The same id again with the same content is a duplicate; with other content a conflict, and nothing of the batch lands.
            let first = try await api.send(.post, "/client-events", token: center, json: ["events": [
                Self.event("X-9", "large_asset_movement", amount: "5000000.00"),
            ]])
            #expect(first.status == .ok, "\(first.text)")
            let changed = try await api.send(.post, "/client-events", token: center, json: ["events": [
                Self.event("X-10", "password_reset"), Self.event("X-9", "large_asset_movement", amount: "0.01"),
            ]])
            #expect(changed.status == .conflict, "\(changed.text)")
            #expect(try changed.problem().detail?.contains("events[1] (X-9) was received before with another client, kind, time or amount") == true)
            let landed: [String] = try await database.withPool {
                try await $0.query("select external_id from huifang.client_events where external_id like 'X-%' order by 1").map { try $0.decode(0) }
            }
            #expect(landed == ["X-9"])
        }
    }

    @Test func riskControlTunesTheMovementThresholdAndTheFloorHolds() async throws {
        try await withFixtureApp { api, _, _ in
            let risk = try await api.token("risk")
            let tomorrow = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(2 * 86400)).prefix(10))
            let published = try await api.send(
                .post, "/obligation-rules/event_large_asset_movement/versions", token: risk,
                json: ["effectiveFrom": tomorrow, "minAmount": "500000", "minShare": "none"])
            #expect(published.status == .created, "\(published.text)")
            let rule = try published.json()
            #expect(rule["version"] as? Int == 2 && rule["minAmount"] as? String == "500000.00" && rule["minShare"] == nil)
            #expect(rule["eventKind"] as? String == "large_asset_movement" && rule["coveragePercent"] as? String == "100.00")
            #expect(rule["population"] as? String == "every movement of at least 500,000.00 CNY", "the version says what it counts")
            #expect(rule["publishedBy"] as? Int != nil)
            // Fewer than every qualifying event is refused (Art 10: 100 %); thresholds belong to movements only.
            let partial = try await api.send(
                .post, "/obligation-rules/event_password_reset/versions", token: risk,
                json: ["effectiveFrom": tomorrow, "coveragePercent": "90"])
            #expect(partial.status.code == 422, "\(partial.text)")
            let stray = try await api.send(
                .post, "/obligation-rules/event_password_reset/versions", token: risk, json: ["effectiveFrom": tomorrow, "minAmount": "5"])
            #expect(try stray.fieldErrors() == ["minAmount: applies only to the large asset movement rule"])
            // Risk Control tunes event rules, not the sampling rules; a branch neither.
            #expect(try await api.send(.post, "/obligation-rules/core_monthly/versions", token: risk,
                                       json: ["effectiveFrom": tomorrow]).status == .forbidden)
            #expect(try await api.send(.post, "/obligation-rules/event_new_business/versions", token: try await api.token("opsA"),
                                       json: ["effectiveFrom": tomorrow]).status == .forbidden)
        }
    }
}
