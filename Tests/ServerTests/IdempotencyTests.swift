import Foundation
import HTTPTypes
import Postgres
import Server
import Store
import Testing
import TestSupport

/// `Idempotency-Key`: a POST repeated after a timeout or a lost answer does not happen twice.
@Suite("Idempotency keys")
struct IdempotencyTests {
    static func client(_ fixture: OrganizationFixture, number: String) -> [String: Any] {
        [
            "branchId": fixture.branchA, "clientNo": number, "name": "赵六", "idType": "resident_id",
            "idNumber": "11010519491231002X", "phone": "13998765432", "openedAt": "2026-06-30T02:00:00Z",
        ]
    }

    static func count(_ database: TestDatabase, clientNo: String) async throws -> Int {
        try await database.withPool(size: 1) {
            try await $0.query("select count(*) from huifang.clients where client_no = \(clientNo)").single().decode(0, as: Int.self)
        }
    }

    @Test func aRepeatReturnsTheFirstResponseAndChangesNothing() async throws {
        try await withFixtureApp { api, fixture, database in
            let token = try await api.token("opsA")
            let body = Self.client(fixture, number: "C0101")
            let first = try await api.send(.post, "/clients", token: token, json: body, idempotencyKey: "open-C0101")
            #expect(first.status == .created)
            #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let again = try await api.send(.post, "/clients", token: token, json: body, idempotencyKey: "open-C0101")
            // Without the key this is 409: the client number is taken.
            #expect(again.status == .created)
            #expect(again.text == first.text)
            #expect(again.headers[.contentType] == first.headers[.contentType])
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await Self.count(database, clientNo: "C0101") == 1)
            // Another staff member's key of the same name is another key.
            let other = try await api.token("deskA")
            let theirs = try await api.send(.post, "/clients", token: other, json: Self.client(fixture, number: "C0102"), idempotencyKey: "open-C0101")
            #expect(theirs.status == .created)
        }
    }

    @Test func theSameKeyWithAnotherBodyIs422() async throws {
        try await withFixtureApp { api, fixture, database in
            let token = try await api.token("opsA")
            #expect(try await api.send(.post, "/clients", token: token, json: Self.client(fixture, number: "C0201"), idempotencyKey: "k1").status == .created)
            let reused = try await api.send(.post, "/clients", token: token, json: Self.client(fixture, number: "C0202"), idempotencyKey: "k1")
            #expect(reused.status.code == 422)
            #expect(try reused.problem().type == Problem.typeBase + "idempotency-key-reused")
            #expect(try await Self.count(database, clientNo: "C0202") == 0)
        }
    }

    @Test func aFailedRequestKeepsNoKeyAndAKeyExpiresAfter24Hours() async throws {
        try await withFixtureApp { api, fixture, database in
            let token = try await api.token("opsA")
            var bad = Self.client(fixture, number: "C0301")
            bad["phone"] = "call me"
            #expect(try await api.send(.post, "/clients", token: token, json: bad, idempotencyKey: "k2").status.code == 422)
            // Nothing happened, so nothing is remembered: the corrected request runs under the same key.
            #expect(try await api.send(.post, "/clients", token: token, json: Self.client(fixture, number: "C0301"), idempotencyKey: "k2").status == .created)

            _ = try await database.withPool(size: 1) {
                try await $0.query("update huifang.idempotency_keys set created_at = created_at - interval '25 hours' where key = 'k2'")
            }
            // A day later the key is free again: this is a new request, not a mismatch.
            let later = try await api.send(.post, "/clients", token: token, json: Self.client(fixture, number: "C0302"), idempotencyKey: "k2")
            #expect(later.status == .created)
            #expect(try await Self.count(database, clientNo: "C0302") == 1)
        }
    }

    /// Two copies of a request at once (a client retrying before the first answer came): one
    /// creates, the other is answered as its repeat — never a second client, never a bare conflict.
    @Test func concurrentCopiesCreateOnce() async throws {
        try await withFixtureApp(configure: { $0.requestTimeouts = .unlimited }) { api, fixture, database in
            let token = try await api.token("opsA")
            let replies = try await database.withPool(size: 2) { owner in
                try await owner.withConnection { locker in
                    try await locker.run(script: "begin; lock table huifang.clients in access exclusive mode")
                    let copies = (0..<2).map { _ in
                        Task {
                            try await api.send(.post, "/clients", token: token, json: Self.client(fixture, number: "C0501"), idempotencyKey: "twice")
                        }
                    }
                    try await waitUntilWaiting(owner, forLockOn: "huifang.clients", count: 2)
                    try await locker.run(script: "commit")
                    return try await [copies[0].value, copies[1].value]
                }
            }
            #expect(try await Self.count(database, clientNo: "C0501") == 1)
            #expect(replies.contains { $0.status == .created })
            for reply in replies where reply.status != .created {
                #expect(try reply.problem().type == Problem.typeBase + "idempotency-key-in-progress")
            }
        }
    }

    /// The scheduler's housekeeping, as the request role: a day-old key of anyone goes, a fresh one stays.
    @Test func expiredKeysArePurgedForEveryone() async throws {
        try await withFixtureApp { api, fixture, database in
            for (who, number) in [("opsA", "C0601"), ("deskA", "C0602")] {
                let token = try await api.token(who)
                let reply = try await api.send(.post, "/clients", token: token, json: Self.client(fixture, number: number), idempotencyKey: number)
                #expect(reply.status == .created)
            }
            let remaining = try await database.withPool(size: 1) { owner in
                try await owner.query("update huifang.idempotency_keys set created_at = created_at - interval '25 hours' where key = 'C0601'")
                let purged = try await database.withPool(database.application, size: 1) { try await IdempotencyKeys.purgeExpired(pool: $0) }
                #expect(purged == 1)
                return try await owner.query("select key from huifang.idempotency_keys").map { try $0.decode(0, as: String.self) }
            }
            #expect(remaining == ["C0602"])
        }
    }

    @Test func aBadKeyIsRefused() async throws {
        try await withFixtureApp { api, fixture, _ in
            let token = try await api.token("opsA")
            let reply = try await api.send(
                .post, "/clients", token: token, json: Self.client(fixture, number: "C0401"), idempotencyKey: String(repeating: "x", count: 256))
            #expect(reply.status.code == 422)
            #expect(try reply.problem().errors?.first?.field == "Idempotency-Key")
        }
    }
}
