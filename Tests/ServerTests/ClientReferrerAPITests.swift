import Foundation
import HTTPTypes
import Server
import Testing
import TestSupport

@Suite("Who referred a client, over HTTP: a reason for every change, the history, recusal for good")
struct ClientReferrerAPITests {
    @Test func aClearedReferrerStaysRecusedAndTheHistorySaysWhoWhenAndWhy() async throws {
        try await withFixtureApp { api, fixture, database in
            let ops = try await api.token("opsA")
            let rp = fixture.staff["rpA"]!
            let path = "/clients/\(fixture.clientA)"
            let named = try await api.send(.patch, path, token: ops, json: ["referrerStaffId": rp, "referrerReason": "开户时由客户经理介绍"])
            #expect(named.status == .ok, "\(named.text)")

            // A change of referrers without a reason is refused, naming the field; a reason alone too.
            let silent = try await api.send(.patch, path, token: ops, json: ["clearReferrers": true])
            #expect(silent.status.code == 422)
            #expect(try silent.fieldErrors() == ["referrerReason: must say why, in at least 4 characters"])
            let stray = try await api.send(.patch, path, token: ops, json: ["name": "李四", "referrerReason": "没有变更介绍人"])
            #expect(try stray.fieldErrors() == ["referrerReason: give it only with a change of referrers"])

            let cleared = try await api.send(.patch, path, token: ops, json: ["clearReferrers": true, "referrerReason": "录入错误，更正"])
            #expect(cleared.status == .ok, "\(cleared.text)")
            #expect(try cleared.json()["referrerStaffId"] == nil && cleared.json()["referrerBrokerId"] == nil)

            // Clearing the record does not let the introducer call the client back.
            let task = try await TaskAPITests.taskA(database, fixture)
            let refused = try await api.send(.post, "/tasks/\(task)/assign", token: ops, json: ["staffId": rp])
            #expect(refused.status == .conflict, "\(refused.text)")
            #expect(try refused.problem().type.hasSuffix("/recusal"))

            // The history: broker A from the opening, then rpA with it, both ended, with who and why.
            let history = try await api.send(.get, "\(path)/referrers", token: ops)
            #expect(history.status == .ok)
            let items = try #require(try history.json()["items"] as? [[String: Any]])
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0["validUntil"] != nil })
            #expect(items.first?["referrerBrokerId"] as? Int == Int(fixture.brokerA) && items.first?["referrerStaffId"] == nil)
            #expect(items.last?["referrerStaffId"] as? Int == Int(rp))
            #expect(items.last?["reason"] as? String == "开户时由客户经理介绍")
            #expect(items.last?["endReason"] as? String == "录入错误，更正")
            #expect(items.last?["changedBy"] as? Int == Int(fixture.staff["opsA"]!))

            // Another branch's director gets what a missing client gets.
            let opsB = try await api.token("opsB")
            let foreign = try await api.send(.get, "\(path)/referrers", token: opsB)
            let missing = try await api.send(.get, "/clients/987654321/referrers", token: opsB)
            #expect(foreign.status == .notFound && missing.status == .notFound)
            #expect(try foreign.problem().title == missing.problem().title)
        }
    }
}
