import Foundation
import HTTPTypes
import HummingbirdCore
import HummingbirdTesting
import Logging
import Postgres
@testable import Server
import Store
import Testing
import TestSupport

/// Issue 17 as a client sees it: what the API answers on the database's bad days.
@Suite("The API on the database's bad days")
struct BadDayAPITests {
    /// The connection dies while COMMIT runs: the change may have happened. The client is told so
    /// — 500, outcome-unknown, no Retry-After — not "try again".
    @Test func aCommitLostMidwayIsOutcomeUnknownNotRetry() async throws {
        try await withFixtureApp { api, _, database in
            let token = try await api.token("managerA")
            try await database.withPool(size: 1) { owner in
                try await owner.withConnection {
                    try await $0.run(
                        script: """
                            create function huifang.slow_commit() returns trigger language plpgsql as $$
                            begin perform pg_sleep(60); return null; end $$;
                            create constraint trigger slow_commit after insert on huifang.audit_events
                                deferrable initially deferred for each row execute function huifang.slow_commit();
                            """)
                }
                let change = Task {
                    try await api.send(
                        .put, "/me/password", token: token,
                        json: ["currentPassword": OrganizationFixture.password, "newPassword": "a much better secret"])
                }
                let pid = try await waitUntilFound(
                    owner,
                    "select pid from pg_stat_activity where query = 'COMMIT' and state = 'active' and datname = current_database()")
                try await owner.query("select pg_terminate_backend(\(pid))")
                let reply = try await change.value
                #expect(reply.status.code == 500)
                #expect(try reply.problem().type == Problem.typeBase + "outcome-unknown")
                #expect(reply.headers[.retryAfter] == nil)
                #expect(reply.headers[.contentType] == "application/problem+json")
            }
        }
    }

    /// A statement that waits past its lock timeout answers 503 with Retry-After and a type that says
    /// so; the next request is served as usual.
    @Test func aRequestPastItsDeadlineIs503AndTheNextOneWorks() async throws {
        try await withFixtureApp(configure: { $0.requestTimeouts = SessionTimeouts(statement: .seconds(60), lock: .milliseconds(50)) }) {
            api, _, database in
            let token = try await api.token("opsA")
            #expect(try await api.send(.get, "/clients", token: token).status == .ok)
            try await database.withPool(size: 1) { owner in
                let reply = try await owner.transaction { connection in
                    try await connection.query("lock table huifang.clients in access exclusive mode")
                    return try await api.send(.get, "/clients", token: token)
                }
                #expect(reply.status.code == 503)
                #expect(try reply.problem().type == Problem.typeBase + "database-timeout")
                #expect(reply.headers[.retryAfter] != nil)
            }
            #expect(try await api.send(.get, "/clients", token: token).status == .ok)
        }
    }

    /// Requests stuck on a locked table fill the one request connection and its one queue place: the
    /// next is refused at once with 503 and Retry-After, while signing in and authenticated calls
    /// that need no request connection still work (they have a pool of their own).
    @Test func overloadIsShedAndSignInStillWorks() async throws {
        try await withFixtureApp(configure: {
            $0.poolSize = 1
            $0.maxWaitingRequests = 1
            $0.requestTimeouts = .unlimited
        }) { api, _, database in
            let token = try await api.token("opsA")
            try await database.withPool(size: 2) { owner in
                try await owner.withConnection { locker in
                    try await locker.run(script: "begin; lock table huifang.clients in access exclusive mode")
                    let holder = Task { try await api.send(.get, "/clients", token: token) }
                    // It holds the one request connection, blocked on the lock.
                    try await waitUntilWaiting(owner, forLockOn: "huifang.clients")
                    // Two more: one takes the one place in the queue, the other is refused at once.
                    let (replies, sink) = AsyncStream.makeStream(of: APIClient.Reply.self)
                    let others = (0..<2).map { _ in
                        Task {
                            let reply = try await api.send(.get, "/clients", token: token)
                            sink.yield(reply)
                            return reply
                        }
                    }
                    var iterator = replies.makeAsyncIterator()
                    let refused = try #require(await iterator.next())
                    #expect(refused.status.code == 503)
                    #expect(try refused.problem().type == Problem.typeBase + "overloaded")
                    #expect(refused.headers[.retryAfter] != nil)
                    // The flood does not lock anyone out.
                    #expect(try await api.signIn("deskA").status == .created)
                    #expect(try await api.send(.get, "/me", token: token).status == .ok)
                    #expect(try await api.send(.get, "/health").status == .ok)
                    try await locker.run(script: "commit")
                    #expect(try await holder.value.status == .ok)
                    let statuses = try await [others[0].value.status.code, others[1].value.status.code].sorted()
                    #expect(statuses == [200, 503])
                }
            }
        }
    }

    /// PostgreSQL restarts under a running server: the first requests after it — an authenticated
    /// read, a sign-in, the health check — all succeed, however soon they come.
    @Test func theFirstRequestsAfterARestartSucceed() async throws {
        try await TestCluster.withPrivateCluster { cluster in
            try cluster.start()
            let migrations = try Migration.load(from: try MigrationsDirectory.locate())
            try await Pool.withPool(cluster.configuration(), logger: TestCluster.quietLogger) { pool in
                _ = try await Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: TestCluster.quietLogger).migrate()
                _ = try await OrganizationFixture.load(into: pool)
            }
            var configuration = AppConfiguration(
                database: cluster.configuration(user: "huifang_app"), poolSize: 2, migrations: migrations, logLevel: .critical)
            configuration.bcryptCost = 4
            configuration.allowForALoadedMachine()
            let app = try await buildApplication(configuration)
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let token = try await api.token("opsA")
                #expect(try await api.send(.get, "/clients", token: token).status == .ok)
                #expect(try await api.send(.get, "/health").status == .ok)

                try cluster.stop(mode: "fast")
                try cluster.start()

                #expect(try await api.send(.get, "/clients", token: token).status == .ok)
                #expect(try await api.signIn("deskA").status == .created)
                #expect(try await api.send(.get, "/health").status == .ok)
            }
            try cluster.stop(mode: "immediate")
        }
    }

    @Test func poolErrorsAndTimeoutsAreRetryableButALostCommitIsNot() {
        let overloaded = Problem(PoolError.overloaded(waiting: 32, size: 8))
        #expect(overloaded.status == 503)
        #expect(overloaded.response().headers[.retryAfter] != nil)
        let timeout = Problem(PostgresError(kind: .server, sqlState: "57014", message: "canceling statement due to statement timeout"))
        #expect(timeout.type == Problem.typeBase + "database-timeout")
        #expect(timeout.response().headers[.retryAfter] != nil)
        let idle = Problem(PostgresError(kind: .server, sqlState: "25P03", message: "terminating connection due to idle-in-transaction timeout"))
        #expect(idle.type == Problem.typeBase + "database-timeout")
        let unknown = Problem(PostgresError(kind: .connection, sqlState: "08007", message: "lost during COMMIT"))
        #expect(unknown.status == 500)
        #expect(unknown.type == Problem.typeBase + "outcome-unknown")
        #expect(unknown.response().headers[.retryAfter] == nil)
    }
}
