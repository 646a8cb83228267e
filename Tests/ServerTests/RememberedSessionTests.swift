import Foundation
import HTTPTypes
import Postgres
import Testing
import TestSupport

/// A server remembers sessions between requests (no round trip to read them), and the database
/// still has the last word on every request: a session ended or changed behind the server's back —
/// by another server, an admin's SQL, a grant revoked — is never used as it was remembered.
@Suite("Remembered sessions are checked by the database on every request")
struct RememberedSessionTests {
    @Test func aSessionEndedBehindTheServersBackIsRefusedOnTheNextRequest() async throws {
        try await withFixtureApp { api, fixture, database in
            let token = try await api.token("opsA")
            // Both a request that reads under the session's scope and one that reads nothing are answered.
            #expect(try await api.send(.get, "/clients", token: token).status == .ok)
            #expect(try await api.send(.get, "/me", token: token).status == .ok)
            // Another server signs it out: the row changes, this server's memory does not.
            try await database.withPool { pool in
                try await pool.query(
                    "update huifang.sessions set revoked_at = now(), revoked_reason = 'admin' where staff_id = \(fixture.staff["opsA"]!)")
            }
            #expect(try await api.send(.get, "/clients", token: token).status == .unauthorized)
            #expect(try await api.send(.get, "/me", token: token).status == .unauthorized)
            let other = try await api.token("opsA")
            try await database.withPool { pool in
                try await pool.query("update huifang.sessions set expires_at = now() - interval '1 second' where staff_id = \(fixture.staff["opsA"]!)")
            }
            #expect(try await api.send(.get, "/me", token: other).status == .unauthorized)
            #expect(try await api.send(.get, "/clients/\(fixture.clientA)", token: other).status == .unauthorized)
        }
    }

    @Test func grantsChangedBehindTheServersBackTakeEffectOnTheNextRequest() async throws {
        try await withFixtureApp { api, fixture, database in
            let token = try await api.token("opsA")
            #expect(try await api.send(.get, "/clients/\(fixture.clientA)", token: token).status == .ok)
            #expect(try await api.send(.get, "/clients/\(fixture.clientB)", token: token).status == .notFound)
            // An admin moves the ops director from branch A to branch B in the database directly.
            try await database.withPool { pool in
                let staff = fixture.staff["opsA"]!
                try await pool.query("update huifang.role_grants set revoked_at = now() where staff_id = \(staff) and revoked_at is null")
                try await pool.query(
                    "insert into huifang.role_grants (staff_id, role, branch_id) values (\(staff), 'ops_director', \(fixture.branchB))")
            }
            // The remembered grants said branch A: the database's check renews them before anything is read.
            #expect(try await api.send(.get, "/clients/\(fixture.clientA)", token: token).status == .notFound)
            #expect(try await api.send(.get, "/clients/\(fixture.clientB)", token: token).status == .ok)
            let me = try await api.send(.get, "/me", token: token).json()
            let grants = try #require(me["grants"] as? [[String: Any]])
            #expect(grants.map { $0["branchId"] as? Int } == [fixture.branchB])
            // With no grant left, a scoped request is refused for its action, not answered with the old scope.
            try await database.withPool { pool in
                try await pool.query(
                    "update huifang.role_grants set revoked_at = now() where staff_id = \(fixture.staff["opsA"]!) and revoked_at is null")
            }
            let refused = try await api.send(.get, "/clients/\(fixture.clientB)", token: token)
            #expect(refused.status == .forbidden)
        }
    }
}
