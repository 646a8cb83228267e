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
                    "update huifang.sign_in_throttle set locked_until = now() - interval '1 second' where subject = 'employee:rpa'")
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

    @Test func aPasswordBcryptWouldReadOnlyInPartIsRefusedNotMatched() async throws {
        try await withFixtureApp { api, fixture, database in
            for password in ["\u{0}" + OrganizationFixture.password, OrganizationFixture.password + "\u{0}anything",
                             String(repeating: "密", count: 25)] {
                let reply = try await api.signIn("opsA", password: password)
                #expect(reply.status == .unprocessableContent, "\(reply.text)")
                #expect(try reply.problem().errors?.map(\.field) == ["password"])
            }
            // "\0" alone is not the empty password either.
            #expect(try await api.signIn("opsA", password: "\u{0}").status == .unprocessableContent)
            #expect(try await api.signIn("opsA").status == .created)
        }
    }

    /// A lockout must not reveal which employee numbers exist: a real one and an invented one
    /// answer the same statuses, with the same problem documents and Retry-After.
    @Test func unknownAndKnownEmployeeNumbersLockAlike() async throws {
        try await withFixtureApp { api, _, database in
            var answers: [String: [String]] = [:]
            for employee in ["rpA", "nobody42"] {
                for attempt in 1...6 {
                    let reply = try await api.signIn(employee, password: "guess number \(attempt)")
                    let problem = try reply.problem()
                    answers[employee, default: []].append(
                        "\(reply.status.code) \(problem.type) \(problem.title) \(reply.headers[.retryAfter] != nil)")
                }
            }
            #expect(answers["rpA"] == answers["nobody42"])
            // The same writes too: one audit event per attempt either way.
            let written: [String: Int] = try await database.withPool { pool in
                Dictionary(uniqueKeysWithValues: try await pool.query(
                    "select object_type, count(*)::int from huifang.audit_events where action like 'sign_in.%' group by object_type"
                ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self)) })
            }
            #expect(written["staff"] == 6 && written["employee_no"] == 6, "\(written)")
            #expect(answers["rpA"]?.map { $0.prefix(3) } == ["401", "401", "401", "401", "423", "423"])
            #expect(answers["rpA"]?.last?.hasSuffix("true") == true)
        }
    }

    @Test func oneAddressTryingManyNumbersIsThrottledWithRetryAfter() async throws {
        try await withFixtureApp(configure: { $0.trustForwardedFor = true }) { api, _, _ in
            func signIn(_ employee: String, from address: String, password: String = "wrong password") async throws -> APIClient.Reply {
                try await api.send(
                    .post, "/sessions", json: ["employeeNo": employee, "password": password], headers: ["X-Forwarded-For": "10.9.9.9, \(address)"])
            }
            for attempt in 1...30 {
                #expect(try await signIn("guess\(attempt)", from: "203.0.113.9").status == .unauthorized)
            }
            let throttled = try await signIn("opsA", from: "203.0.113.9", password: OrganizationFixture.password)
            #expect(throttled.status == .tooManyRequests)
            #expect(Int(throttled.headers[.retryAfter] ?? "") ?? 0 > 800)
            // Another address is not affected, and a success records where the session came from.
            let success = try await signIn("opsA", from: "198.51.100.7", password: OrganizationFixture.password)
            #expect(success.status == .created)
            let token = try #require(try success.json()["token"] as? String)
            let sessions = try await api.send(.get, "/sessions/mine", token: token)
            #expect(sessions.text.contains("198.51.100.7"))

            // An IPv6 machine counts as its /64: rotating the interface id gains nothing.
            for attempt in 1...30 {
                #expect(try await signIn("guess\(attempt)", from: "2001:db8:1:2::\(String(attempt, radix: 16))").status == .unauthorized)
            }
            #expect(try await signIn("opsA", from: "2001:db8:1:2:ffff::9", password: OrganizationFixture.password).status == .tooManyRequests)
        }
    }

    @Test func aPersonListsAndRevokesTheirSessionsAndAnAdminAnyones() async throws {
        try await withFixtureApp { api, fixture, database in
            let first = try await api.token("opsA")
            let second = try await api.token("opsA")
            let listed = try await api.send(.get, "/sessions/mine", token: second)
            let items = try #require(try listed.json()["items"] as? [[String: Any]])
            #expect(items.count == 2)
            #expect(items.filter { $0["current"] as? Bool == true }.count == 1)
            let other = try #require(items.first { $0["current"] as? Bool == false }?["id"] as? Int)

            // Someone else (not an admin) cannot see or revoke it: 404, as if it did not exist.
            let opsB = try await api.token("opsB")
            #expect(try await api.send(.delete, "/sessions/\(other)", token: opsB).status == .notFound)
            #expect(try await api.send(.get, "/staff/\(fixture.staff["opsA"]!)/sessions", token: opsB).status == .forbidden)
            #expect(try await api.send(.get, "/me", token: first).status == .ok)

            #expect(try await api.send(.delete, "/sessions/\(other)", token: second).status == .noContent)
            #expect(try await api.send(.get, "/me", token: first).status == .unauthorized)

            // The admin sees the remaining one and revokes it.
            let admin = try await api.token("admin")
            let seen = try await api.send(.get, "/staff/\(fixture.staff["opsA"]!)/sessions", token: admin)
            let remaining = try #require(try seen.json()["items"] as? [[String: Any]])
            #expect(remaining.count == 1)
            let id = try #require(remaining.first?["id"] as? Int)
            #expect(try await api.send(.delete, "/sessions/\(id)", token: admin).status == .noContent)
            #expect(try await api.send(.get, "/me", token: second).status == .unauthorized)
            let audited: [String] = try await database.withPool {
                try await $0.query(
                    "select detail->>'by' from huifang.audit_events where action = 'session.revoked' order by id"
                ).map { try $0.decode(0) }
            }
            #expect(audited == ["self", "admin"])
        }
    }

    /// A stolen token does not open a way to guess the password behind it.
    @Test func guessingTheCurrentPasswordLocksLikeFailedSignIns() async throws {
        try await withFixtureApp { api, _, _ in
            let token = try await api.token("rpA")
            var statuses: [Int] = []
            for attempt in 1...6 {
                let reply = try await api.send(
                    .put, "/me/password", token: token,
                    json: ["currentPassword": "guess number \(attempt)", "newPassword": "a brand new passphrase"])
                statuses.append(reply.status.code)
            }
            #expect(statuses == [422, 422, 422, 422, 423, 423])
            let right = try await api.send(
                .put, "/me/password", token: token,
                json: ["currentPassword": OrganizationFixture.password, "newPassword": "a brand new passphrase"])
            #expect(right.status.code == 423)
            #expect(right.headers[.retryAfter] != nil)
            #expect(try await api.signIn("rpA").status.code == 423)
        }
    }
}
