import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

@Suite("Sign-in, sessions and lockout")
struct SignInTests {
    @Test func signedInStaffSeeTheirRolesAndScopes() async throws {
        try await withFixtureApp { api, fixture, _ in
            let token = try await api.token("opsA")
            let me = try await api.send(.get, "/me", token: token)
            #expect(me.status == .ok)
            let body = try me.json()
            let grants = try #require(body["grants"] as? [[String: Any]])
            #expect(grants.count == 1)
            #expect(grants[0]["role"] as? String == "ops_director")
            #expect(grants[0]["branchId"] as? Int == fixture.branchA)
            let permissions = try #require(body["permissions"] as? [[String: Any]])
            let writeClients = try #require(permissions.first { $0["action"] as? String == "writeClients" })
            #expect(writeClients["branchIds"] as? [Int] == [fixture.branchA])
            #expect(!me.text.contains("password"))
            #expect(!me.text.contains("$2"))
        }
    }

    @Test func requestsWithoutAValidTokenAre401() async throws {
        try await withFixtureApp { api, _, _ in
            let none = try await api.send(.get, "/clients")
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            #expect(try none.problem().type.hasSuffix("/unauthenticated"))
            let forged = try await api.send(.get, "/clients", token: "not-a-token")
            #expect(forged.status == .unauthorized)
            let wrong = try await api.signIn("opsA", password: "wrong password!")
            #expect(wrong.status == .unauthorized)
            let unknown = try await api.signIn("nobody", password: "wrong password!")
            #expect(unknown.status == .unauthorized)
            #expect(try wrong.problem().type == (try unknown.problem().type))
        }
    }

    @Test func aSignedOutTokenStopsWorking() async throws {
        try await withFixtureApp { api, _, _ in
            let token = try await api.token("deskA")
            #expect(try await api.send(.get, "/me", token: token).status == .ok)
            #expect(try await api.send(.delete, "/sessions/current", token: token).status == .noContent)
            #expect(try await api.send(.get, "/me", token: token).status == .unauthorized)
            #expect(try await api.send(.get, "/clients", token: token).status == .unauthorized)
        }
    }

    @Test func fiveFailuresLockTheAccountForFifteenMinutesAndAreAudited() async throws {
        try await withFixtureApp { api, fixture, database in
            for attempt in 1...5 {
                let reply = try await api.signIn("rpA", password: "guess number \(attempt)")
                #expect(reply.status == (attempt < 5 ? .unauthorized : .init(code: 423)), "attempt \(attempt)")
            }
            // Even the right password is refused while locked.
            let locked = try await api.signIn("rpA")
            #expect(locked.status.code == 423)
            #expect(try locked.problem().type.hasSuffix("/account-locked"))
            // Others are unaffected.
            #expect(try await api.signIn("opsA").status == .created)
            try await database.withPool { pool in
                let rows = try await pool.query(
                    """
                    select action, count(*) from huifang.audit_events
                    where object_type = 'staff' and object_id = \(String(fixture.staff["rpA"]!)) group by action order by action
                    """)
                let counts = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self)) })
                #expect(counts["sign_in.failed"] == 4)
                #expect(counts["sign_in.locked"] == 1)
                #expect(counts["sign_in.refused_locked"] == 1)
                // When the 15 minutes have passed, the right password works again.
                try await pool.query(
                    "update huifang.staff_credentials set locked_until = now() - interval '1 second' where staff_id = \(fixture.staff["rpA"]!)")
            }
            #expect(try await api.signIn("rpA").status == .created)
        }
    }

    @Test func changingThePasswordRevokesEverySessionAndIssuesANewToken() async throws {
        try await withFixtureApp { api, _, _ in
            let first = try await api.token("managerA")
            let second = try await api.token("managerA")
            let weak = try await api.send(
                .put, "/me/password", token: first,
                json: ["currentPassword": OrganizationFixture.password, "newPassword": "short"])
            #expect(weak.status.code == 422)
            #expect(try weak.problem().errors?.first?.field == "newPassword")
            let changed = try await api.send(
                .put, "/me/password", token: first,
                json: ["currentPassword": OrganizationFixture.password, "newPassword": "a much better secret"])
            #expect(changed.status == .ok)
            let fresh = try #require(try changed.json()["token"] as? String)
            #expect(try await api.send(.get, "/me", token: first).status == .unauthorized)
            #expect(try await api.send(.get, "/me", token: second).status == .unauthorized)
            #expect(try await api.send(.get, "/me", token: fresh).status == .ok)
            #expect(try await api.signIn("managerA").status == .unauthorized)
            #expect(try await api.signIn("managerA", password: "a much better secret").status == .created)
        }
    }

    @Test func tokensAreStoredOnlyAsHashes() async throws {
        try await withFixtureApp { api, _, database in
            let token = try await api.token("auditor")
            try await database.withPool { pool in
                let stored: Int = try await pool.query(
                    "select count(*) from huifang.sessions where encode(token_hash, 'escape') like '%' || \(token) || '%'"
                ).single().decode(0)
                #expect(stored == 0)
                let live: Int = try await pool.query("select count(*) from huifang.sessions where revoked_at is null").single().decode(0)
                #expect(live == 1)
            }
        }
    }
}
