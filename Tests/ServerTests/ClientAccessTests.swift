import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

@Suite("Clients over HTTP: isolation, permissions, masking and reveal")
struct ClientAccessTests {
    @Test func anotherBranchsClientIs404ForEveryVerbAndNothingChanges() async throws {
        try await withFixtureApp { api, fixture, database in
            let token = try await api.token("opsA")
            let b = fixture.clientB
            let get = try await api.send(.get, "/clients/\(b)", token: token)
            #expect(get.status == .notFound)
            #expect(try get.problem().type.hasSuffix("/not-found"))
            #expect(try await api.send(.patch, "/clients/\(b)", token: token, json: ["name": "改名"]).status == .notFound)
            #expect(try await api.send(.post, "/clients/\(b)/close", token: token, json: ["reason": "account closed at counter"]).status == .notFound)
            #expect(
                try await api.send(.post, "/clients/\(b)/reveal", token: token, json: ["fields": ["phone"], "reason": "need to call"]).status
                    == .notFound)
            #expect(try await api.send(.get, "/clients/\(b)/asset-snapshots", token: token).status == .notFound)
            #expect(try await api.send(.get, "/brokers/\(fixture.brokerB)", token: token).status == .notFound)
            #expect(try await api.send(.patch, "/brokers/\(fixture.brokerB)", token: token, json: ["name": "改名"]).status == .notFound)
            let upload = try await api.send(
                .post, "/asset-snapshots", token: token,
                json: ["snapshots": [["clientId": b, "asOf": "2026-07-31", "totalAssets": "1.00"]]])
            #expect(upload.status.code == 422)
            // The list shows only branch A, even when asked for branch B.
            let list = try await api.send(.get, "/clients?branchId=\(fixture.branchB)", token: token)
            #expect(try list.json()["items"] as? [Any] == nil || (try list.json()["items"] as! [Any]).isEmpty)
            let own = try await api.send(.get, "/clients", token: token)
            #expect((try own.json()["items"] as? [[String: Any]])?.map { $0["id"] as? Int } == [Int(fixture.clientA)])

            try await database.withPool { pool in
                let row = try await pool.query(
                    """
                    select name, status, (select count(*) from huifang.client_asset_snapshots where client_id = \(b)),
                           (select count(*) from huifang.audit_events where object_id = \(String(b)) and action <> 'client.opened')
                    from huifang.clients where id = \(b)
                    """
                ).single()
                #expect(try row.decode(0, as: String.self) == "李四")
                #expect(try row.decode(1, as: String.self) == "open")
                #expect(try row.decode(2, as: Int.self) == 1)
                #expect(try row.decode(3, as: Int.self) == 0)
            }
        }
    }

    @Test func aSnapshotIsCorrectedWithAReasonAsItsNextRevisionNeverOverwritten() async throws {
        try await withFixtureApp { api, fixture, database in
            let ops = try await api.token("opsA")
            let a = fixture.clientA
            // The fixture recorded 12,000,000.00 on 30 Jun; the same figures again change nothing.
            let same = try await api.send(.post, "/asset-snapshots", token: ops, json: [
                "snapshots": [["clientId": a, "asOf": "2026-06-30", "totalAssets": "12000000.00", "lastTradeDate": "2026-06-28"]],
            ])
            #expect(try same.json()["unchanged"] as? Int == 1, "\(same.text)")
            let corrected: [String: Any] = ["snapshots": [["clientId": a, "asOf": "2026-06-30", "totalAssets": "9500000.00", "lastTradeDate": "2026-06-28"]]]
            let unexplained = try await api.send(.post, "/asset-snapshots", token: ops, json: corrected)
            #expect(unexplained.status.code == 422)
            #expect(try unexplained.problem().errors?.map(\.field) == ["reason"])
            let explained = try await api.send(
                .post, "/asset-snapshots", token: ops, json: corrected.merging(["reason": "the core system restated June's balances"]) { $1 })
            #expect(try explained.json()["updated"] as? Int == 1, "\(explained.text)")

            let history = try await api.send(.get, "/clients/\(a)/asset-snapshots", token: ops).jsonArray()
            #expect(history.map { "\($0["asOf"]!) \($0["revision"]!) \($0["totalAssets"]!)" } == [
                "2026-06-30 2 9500000.00", "2026-06-30 1 12000000.00",
            ])
            #expect(history.first?["correctionReason"] as? String == "the core system restated June's balances")
            // The client shows the corrected figure; the correction is audited with both figures.
            let client = try await api.send(.get, "/clients/\(a)", token: ops).json()
            #expect((client["classification"] as? [String: Any])?["totalAssets"] as? String == "9500000.00")
            try await database.withPool { pool in
                let audit: String = try await pool.query(
                    "select reason || ' ' || (detail ->> 'total_assets') from huifang.audit_events where action = 'asset_snapshot.corrected'"
                ).single().decode(0)
                #expect(audit == "the core system restated June's balances [12000000.00, 9500000.00]")
                // Not even the owner overwrites history.
                let rewrite = await #expect(throws: PostgresError.self) {
                    try await pool.query("update huifang.client_asset_snapshots set total_assets = 1 where client_id = \(a)")
                }
                #expect(rewrite?.constraint == "client_asset_snapshots_append_only")
            }
        }
    }

    @Test func creatingInAnotherBranchIsForbidden() async throws {
        try await withFixtureApp { api, fixture, _ in
            let token = try await api.token("deskA")
            let reply = try await api.send(
                .post, "/clients", token: token,
                json: [
                    "branchId": fixture.branchB, "clientNo": "C9", "name": "王五", "idType": "passport", "idNumber": "E7654321",
                    "openedAt": "2026-06-30T02:00:00Z",
                ])
            #expect(reply.status == .forbidden)
        }
    }

    @Test func massAssignmentOfBranchOrReferrerIsRefused() async throws {
        try await withFixtureApp { api, fixture, database in
            let desk = try await api.token("deskA")
            // branchId is not a field of a client update at all.
            let move = try await api.send(.patch, "/clients/\(fixture.clientA)", token: desk, json: ["branchId": fixture.branchB])
            #expect(move.status == .unprocessableContent)
            #expect(try move.problem().errors?.map(\.field) == ["branchId"])
            // The front desk may correct data but not change who introduced the client (recusal depends on it).
            let referrer = try await api.send(
                .patch, "/clients/\(fixture.clientA)", token: desk, json: ["referrerStaffId": fixture.staff["deskA"]!, "referrerReason": "更正介绍人"])
            #expect(referrer.status == .forbidden)
            // The ops director may, and it is audited as such.
            let ops = try await api.token("opsA")
            let changed = try await api.send(
                .patch, "/clients/\(fixture.clientA)", token: ops, json: ["referrerStaffId": fixture.staff["rpA"]!, "referrerReason": "更正介绍人"])
            #expect(changed.status == .ok)
            // A broker of another branch cannot become the referrer.
            let foreign = try await api.send(
                .patch, "/clients/\(fixture.clientA)", token: ops, json: ["referrerBrokerId": fixture.brokerB, "referrerReason": "更正介绍人"])
            #expect(foreign.status.code == 422)
            try await database.withPool { pool in
                let row = try await pool.query(
                    "select branch_id, referrer_staff_id, referrer_broker_id from huifang.clients where id = \(fixture.clientA)"
                ).single()
                #expect(try row.decode(0, as: Int.self) == fixture.branchA)
                #expect(try row.decode(1, as: Int64?.self) == fixture.staff["rpA"])
                #expect(try row.decode(2, as: Int64?.self) == fixture.brokerA)
                let audited: Int = try await pool.query(
                    "select count(*) from huifang.audit_events where action = 'client.referrer_changed' and object_id = \(String(fixture.clientA))"
                ).single().decode(0)
                #expect(audited == 1)
            }
        }
    }

    @Test func personalDataIsMaskedEverywhereUntilRevealedAndEveryRevealIsAudited() async throws {
        try await withFixtureApp { api, fixture, database in
            let ops = try await api.token("opsA")
            let created = try await api.send(
                .post, "/clients", token: ops,
                json: [
                    "branchId": fixture.branchA, "clientNo": "C0002", "name": "赵六", "idType": "resident_id",
                    "idNumber": "11010519491231002X", "phone": "13998765432", "openedAt": "2026-06-30T02:00:00Z",
                ])
            #expect(created.status == .created)
            let replies = [
                created,
                try await api.send(.get, "/clients", token: ops),
                try await api.send(.get, "/clients/\(fixture.clientA)", token: ops),
                try await api.send(.patch, "/clients/\(fixture.clientA)", token: ops, json: ["name": "李四"]),
            ]
            for reply in replies {
                for clear in [OrganizationFixture.clearIDNumber, OrganizationFixture.clearPhone, "11010519491231002X", "13998765432"] {
                    #expect(!reply.text.contains(clear), "\(clear) appears unmasked")
                }
            }
            let client = try await api.send(.get, "/clients/\(fixture.clientA)", token: ops).json()
            #expect(client["idNumber"] as? String == "110***********4578")
            #expect(client["phone"] as? String == "138****5678")

            // A reveal needs a reason …
            let noReason = try await api.send(
                .post, "/clients/\(fixture.clientA)/reveal", token: ops, json: ["fields": ["phone"], "reason": ""])
            #expect(noReason.status.code == 422)
            // … and a role with the right: the organization admin has none.
            let admin = try await api.token("admin")
            let adminReveal = try await api.send(
                .post, "/clients/\(fixture.clientA)/reveal", token: admin, json: ["fields": ["phone"], "reason": "curious"])
            #expect(adminReveal.status == .forbidden)
            let revealed = try await api.send(
                .post, "/clients/\(fixture.clientA)/reveal", token: ops,
                json: ["fields": ["phone", "idNumber"], "reason": "callback: verify identity"])
            #expect(revealed.status == .ok)
            let body = try revealed.json()
            #expect(body["phone"] as? String == OrganizationFixture.clearPhone)
            #expect(body["idNumber"] as? String == OrganizationFixture.clearIDNumber)
            let eventId = try #require(body["auditEventId"] as? Int)
            try await database.withPool { pool in
                let row = try await pool.query(
                    "select actor_staff_id, branch_id, action, reason, detail->'fields' from huifang.audit_events where id = \(Int64(eventId))"
                ).single()
                #expect(try row.decode(0, as: Int64.self) == fixture.staff["opsA"])
                #expect(try row.decode(1, as: Int.self) == fixture.branchA)
                #expect(try row.decode(2, as: String.self) == "personal_data.revealed")
                #expect(try row.decode(3, as: String.self) == "callback: verify identity")
                #expect(try row.decode(4, as: String.self) == #"["idNumber", "phone"]"#)
            }
            // The auditor finds it in the trail.
            let auditor = try await api.token("auditor")
            let trail = try await api.send(.get, "/audit-events?action=personal_data.revealed", token: auditor)
            #expect((try trail.json()["items"] as? [[String: Any]])?.first?["id"] as? Int == eventId)
        }
    }

    @Test func functionRolesAreEnforced() async throws {
        try await withFixtureApp { api, fixture, _ in
            let admin = try await api.token("admin")
            #expect(try await api.send(.get, "/clients", token: admin).status == .forbidden)
            let functional = try await api.token("functional")
            #expect(try await api.send(.get, "/clients/\(fixture.clientA)", token: functional).status == .forbidden)
            let rp = try await api.token("rpA")
            #expect(try await api.send(.post, "/branches", token: rp, json: ["code": "X1", "name": "x", "region": "x"]).status == .forbidden)
            #expect(
                try await api.send(.post, "/clients/\(fixture.clientA)/close", token: rp, json: ["reason": "closing it"]).status
                    == .forbidden)
            // HQ readers see every branch.
            let callCenter = try await api.token("callCenter")
            let all = try await api.send(.get, "/clients", token: callCenter)
            #expect((try all.json()["items"] as? [Any])?.count == 2)
            #expect(try await api.send(.patch, "/clients/\(fixture.clientB)", token: callCenter, json: ["name": "x"]).status == .forbidden)
        }
    }

    @Test func validationErrorsNameEachBadField() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            let reply = try await api.send(
                .post, "/clients", token: ops,
                json: [
                    "branchId": fixture.branchA, "clientNo": "bad number!", "name": " ", "idType": "resident_id",
                    "idNumber": "110101199003074579", "phone": "call me", "openedAt": "2026-06-30T02:00:00Z",
                ])
            #expect(reply.status.code == 422)
            let fields = Set(try reply.problem().errors?.map(\.field) ?? [])
            #expect(fields == ["clientNo", "name", "idNumber", "phone"])
        }
    }

    @Test func closingAndKeysetPagination() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            for n in 0..<5 {
                let reply = try await api.send(
                    .post, "/clients", token: ops,
                    json: [
                        "branchId": fixture.branchA, "clientNo": "P\(n)", "name": "客户\(n)", "idType": "passport",
                        "idNumber": "E000000\(n)", "openedAt": "2026-06-\(10 + n)T02:00:00Z",
                    ])
                #expect(reply.status == .created)
            }
            var seen: [Int] = []
            var cursor: String? = nil
            repeat {
                let uri = "/clients?limit=2" + (cursor.map { "&after=\($0)" } ?? "")
                let page = try await api.send(.get, uri, token: ops).json()
                seen += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
                cursor = page["next"] as? String
            } while cursor != nil
            #expect(seen.count == 6)
            #expect(seen == seen.sorted())
            #expect(try await api.send(.get, "/clients?after=garbage", token: ops).status.code == 422)
            // Found by schemathesis: limit=0 used to crash the server.
            for uri in ["/clients?limit=0", "/clients?limit=501", "/brokers?limit=0", "/staff?limit=-1", "/timers?limit=0"] {
                #expect(try await api.send(.get, uri, token: ops).status.code == 422, "\(uri)")
            }

            let closed = try await api.send(.post, "/clients/\(fixture.clientA)/close", token: ops, json: ["reason": "client request"])
            #expect(closed.status == .ok)
            #expect(try closed.json()["status"] as? String == "closed")
            #expect(try await api.send(.post, "/clients/\(fixture.clientA)/close", token: ops, json: ["reason": "client request"]).status == .conflict)
            let open = try await api.send(.get, "/clients?status=open&kind=broker_introduced", token: ops).json()
            #expect((open["items"] as? [Any])?.isEmpty == true)
            let hnw = try await api.send(.get, "/clients?highNetWorth=true", token: ops).json()
            #expect((hnw["items"] as? [[String: Any]])?.first?["id"] as? Int == Int(fixture.clientA))
        }
    }
}
