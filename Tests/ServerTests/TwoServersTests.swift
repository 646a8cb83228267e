import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import Server
import Store
import Synchronization
import Testing
import TestSupport

/// Issue 22, part 1: two servers on one database, as two `huifang serve` behind a load balancer,
/// behave as one — nothing a request or a worker relies on lives only in one server's memory.
@Suite("Two servers on one database")
struct TwoServersTests {
    /// A session made on one server works on the other; signing out on the other ends it on the first
    /// too, although the first remembers it (`SessionCache`). A version read on one server is good
    /// for a step on the other, and stale on both afterwards; one step raced from both servers with
    /// the same version has one winner.
    @Test func sessionsVersionsAndARacedStepAreTheSameOnBothServers() async throws {
        try await withTwoFixtureApps(now: Date()) { one, two, fixture, database in
            let token = try await one.token("opsCenter")
            #expect(try await two.send(.get, "/me", token: token).status == .ok)
            #expect(try await one.send(.get, "/me", token: token).status == .ok)

            let problem = try await ProblemAPITests.raise(one, fixture)
            try #require(try await ProblemAPITests.Actor(api: two, token: try await two.token("opsA")).step(problem, "approve").status == .ok)
            let onOne = try await ProblemAPITests.Actor(api: one, token: token).read(problem)
            let onTwo = try await ProblemAPITests.Actor(api: two, token: token).read(problem)
            #expect(onOne.etag == onTwo.etag, "one version, whichever server answers")

            let it = try await ProblemAPITests.department(fixture, database, "IT")
            let legal = try await ProblemAPITests.department(fixture, database, "LEGAL")
            let other = try await two.token("opsCenter")
            let version = onOne.etag
            async let first = one.send(.post, "/problems/\(problem)/forward", token: token, json: ["departmentIds": [it]], ifMatch: version)
            async let second = two.send(.post, "/problems/\(problem)/forward", token: other, json: ["departmentIds": [legal]], ifMatch: version)
            #expect(try await [first.status.code, second.status.code].sorted() == [200, 412])
            let after = try await ProblemAPITests.Actor(api: one, token: token).read(problem)
            #expect((after.json["forwardings"] as? [Any])?.count == 1)
            #expect(after.etag != onOne.etag)
            #expect(try await two.send(.post, "/problems/\(problem)/claim", token: other, json: [String: Any](), ifMatch: onTwo.etag).status.code == 412)

            #expect(try await two.send(.delete, "/sessions/current", token: token).status == .noContent)
            #expect(try await one.send(.get, "/me", token: token).status == .unauthorized)
            #expect(try await two.send(.get, "/me", token: token).status == .unauthorized)
        }
    }

    /// Both servers run their timer workers (two each, small batches) on the same overdue clocks:
    /// every stage of every clock fires once, with one notification per recipient.
    @Test func overdueClocksFireOnceWithTheWorkersOfTwoServers() async throws {
        let clocks = 60
        try await withTwoFixtureApps(
            now: Date(),
            configure: { _, configuration in
                configuration.timerWorkers = .init(workers: 2, batchSize: 4, pollInterval: .milliseconds(50))
            }
        ) { _, _, fixture, database in
            try await database.withPool { pool in
                try await pool.transaction { db in
                    for id in 1...clocks {
                        _ = try await Timers(db).start(
                            TimerSubject(branchId: fixture.branchA, kind: "test", id: Int64(id), clock: "two_servers"),
                            startedAt: Date(timeIntervalSince1970: 1_772_416_800), workdays: 5, title: "clock \(id)",
                            notify: [.init(role: "ops_director", branchId: fixture.branchA), .init(role: "branch_manager", branchId: fixture.branchA)])
                    }
                }
                try await waitUntil(pool, "select not exists (select from huifang.timers where clock = 'two_servers' and state = 'running')")
                let figures = try await pool.query(
                    """
                    select (select count(*)::int from huifang.sla_events where clock = 'two_servers'),
                           (select count(distinct (timer_id, stage))::int from huifang.sla_events where clock = 'two_servers'),
                           (select count(*)::int from huifang.notifications n join huifang.timers t on t.branch_id = n.branch_id and t.id = n.timer_id
                            where t.clock = 'two_servers'),
                           (select count(distinct (timer_id, stage, recipient_role))::int from huifang.notifications n
                            join huifang.timers t on t.branch_id = n.branch_id and t.id = n.timer_id where t.clock = 'two_servers')
                    """
                ).single()
                // warning_50, warning_75, breached, escalated
                #expect(try figures.decode(0, as: Int.self) == 4 * clocks)
                #expect(try figures.decode(1, as: Int.self) == 4 * clocks)
                #expect(try figures.decode(2, as: Int.self) >= 4 * 2 * clocks)
                #expect(try figures.decode(2, as: Int.self) == figures.decode(3, as: Int.self), "no stage notified twice")
            }
        }
    }

    /// Both servers run the obligation scheduler every few milliseconds on the same new accounts: the
    /// opening day is drawn once, whichever server draws it, and later rounds of both add nothing.
    @Test func aPeriodIsDrawnOnceWithTheSchedulersOfTwoServers() async throws {
        let rounds = RoundCounts()
        let today = ISO8601DateFormatter().date(from: "2026-07-20T10:00:00+08:00")!
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await ObligationSchedulerTests.openTenOrdinaryAccounts(database, branch: fixture.branchA)
            var built: [any ApplicationProtocol] = []
            for server in 0..<2 {
                built.append(
                    try await buildApplication(
                        try fixtureConfiguration(database, now: today) { configuration in
                            // The scheduler asks the time twice a round: counting the asks counts its rounds.
                            configuration.now = { rounds.count(server); return today }
                            configuration.obligationScheduler = .init(interval: .milliseconds(20), periodicEvery: 1)
                        }))
            }
            let apps = built
            try await apps[0].test(.router) { _ in
                try await apps[1].test(.router) { _ in
                    try await database.withPool { pool in
                        try await waitUntil(pool, "select exists (select from huifang.callback_tasks where rule_code = 'new_account_ordinary')")
                        // Both schedulers go on for several more rounds.
                        let seen = rounds.counts
                        try await waitUntil("six more rounds of each scheduler") { zip(rounds.counts, seen).allSatisfy { $0 >= $1 + 12 } }
                        let counts = try await pool.query(
                            """
                            select (select count(*)::int from huifang.obligation_draws where rule_code = 'new_account_ordinary'),
                                   (select count(*)::int from huifang.callback_tasks where rule_code = 'new_account_ordinary')
                            """
                        ).single()
                        #expect(try counts.decode(0, as: Int.self) == 1)
                        #expect(try counts.decode(1, as: Int.self) == 3)  // ⌈0.3 × 10⌉
                    }
                }
            }
        }
    }
}

/// How often each server's scheduler asked the time.
private final class RoundCounts: Sendable {
    private let asks = Mutex<[Int]>([0, 0])
    func count(_ server: Int) { asks.withLock { $0[server] += 1 } }
    var counts: [Int] { asks.withLock { $0 } }
}
