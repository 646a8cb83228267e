import Foundation
@testable import Postgres
import Testing
import TestSupport

@Suite("The pool lends connections safely and recovers by itself")
struct PoolTests {
    @Test func twoHundredConcurrentQueriesOnFourConnections() async throws {
        try await TestDatabase.with { database in
            // A correctness test, not a timing one: a generous wait, so a loaded machine cannot fail it.
            // All 200 may wait at once: this is about lending, not about shedding load.
            try await database.withPool(size: 4, acquireTimeout: .seconds(120), maxWaiters: 200) { pool in
                let results = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<200 {
                        group.addTask {
                            try await pool.query("select \(index)::int, pg_sleep(0.002)").single().decode(0, as: Int.self)
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(results.sorted() == Array(0..<200))
                let statistics = pool.statistics
                #expect(statistics.inUse == 0)
                #expect(statistics.idle <= 4)
                #expect(statistics.waiting == 0)
            }
        }
    }

    /// Clients running on the pool's threads keep talking to the same server process: each thread
    /// gets back the connection it returned (the pairing that halves a round trip on a busy machine).
    @Test func aDatabaseThreadGetsBackTheConnectionItReturned() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 2) { pool in
                _ = try await [pool.query("select 1"), pool.query("select 1")]
                let seen = try await withThrowingTaskGroup(of: Set<Int32>.self) { group in
                    for _ in 0..<2 {
                        group.addTask(executorPreference: pool.executor) {
                            var pids = Set<Int32>()
                            for _ in 0..<300 {
                                pids.insert(try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self))
                            }
                            return pids
                        }
                    }
                    return try await group.reduce(into: [Set<Int32>]()) { $0.append($1) }
                }
                #expect(seen.allSatisfy { $0.count == 1 }, "\(seen)")
            }
        }
    }

    @Test func waitingTooLongForAConnectionFailsClearly() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1, acquireTimeout: .milliseconds(200)) { pool in
                let error = try await pool.withConnection { _ in
                    try await #require(throws: PoolError.self) { try await pool.query("select 1") }
                }
                #expect(error == .timedOut(after: .milliseconds(200), size: 1))
                #expect("\(error)".contains("no database connection became free"))
                // The pool is usable again once the connection is back.
                #expect(try await pool.query("select 1").single().decode(0, as: Int.self) == 1)
            }
        }
    }

    @Test func transactionCommitsOrRollsBack() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 2) { pool in
                try await pool.query("create table t (id int primary key)")
                try await pool.transaction { try await $0.query("insert into t values (1)") }
                struct Boom: Error {}
                await #expect(throws: Boom.self) {
                    try await pool.transaction { connection in
                        try await connection.query("insert into t values (2)")
                        throw Boom()
                    }
                }
                let ids = try await pool.query("select id from t order by id").map { try $0.decode(0, as: Int.self) }
                #expect(ids == [1])
            }
        }
    }

    @Test func transactionLocalSettingsDoNotLeakToTheNextLease() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                let inside = try await pool.transaction(settings: [("huifang.branch_id", "17")]) { connection in
                    try await connection.query("select current_setting('huifang.branch_id')").single().decode(0, as: String.self)
                }
                #expect(inside == "17")
                let after = try await pool.query("select current_setting('huifang.branch_id', true)").single()
                    .decode(0, as: String?.self)
                #expect(after == nil || after == "")
            }
        }
    }

    @Test func aPlanModeTheServerAsksForYieldsToTheOneTheDatabaseWasSetTo() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let mode = { (pool: Pool) async throws -> String in
                try await pool.transaction(settings: [("plan_cache_mode", "force_generic_plan")]) { connection in
                    try await connection.query("select current_setting('plan_cache_mode')").single().decode(0, as: String.self)
                }
            }
            try await database.withPool(size: 1) { pool in
                #expect(try await mode(pool) == "force_generic_plan", "the database left it at auto")
                try await pool.query("alter database \(unescaped: database.name) set plan_cache_mode = force_custom_plan")
            }
            let chosen = try await database.withPool(size: 1) { pool in try await mode(pool) }
            #expect(chosen == "force_custom_plan", "the operator's choice wins")
        }
    }

    @Test func serializationFailureIsRetriedUntilItSucceeds() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 2) { pool in
                try await pool.query("create table duty (doctor text, on_call bool)")
                try await pool.query("insert into duty values ('a', true), ('b', true)")
                let attempts = Counter()
                let bothRead = Barrier(parties: 2)
                // Write skew: each takes a doctor off call if another is still on call. Under
                // SERIALIZABLE one of the two must fail with 40001 and, retried, see the other's write.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for doctor in ["a", "b"] {
                        group.addTask {
                            // Generous attempts: on a loaded machine the retries themselves may collide again.
                            try await pool.transaction(isolation: .serializable, maxAttempts: 20) { connection in
                                let attempt = attempts.increment()
                                let onCall = try await connection.query("select count(*) from duty where on_call").single()
                                    .decode(0, as: Int.self)
                                if attempt <= 2 { await bothRead.arrive() }
                                if onCall >= 2 {
                                    try await connection.query("update duty set on_call = false where doctor = \(doctor)")
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                // Two first attempts, and at least one retry after PostgreSQL aborted one of them.
                #expect(attempts.value >= 3)
                let stillOnCall = try await pool.query("select count(*) from duty where on_call").single().decode(0, as: Int.self)
                #expect(stillOnCall == 1)
            }
        }
    }

    @Test func poolRecoversAfterTheServerRestarts() async throws {
        try await TestCluster.withPrivateCluster { cluster in
            try cluster.start()
            let pool = Pool(configuration: cluster.configuration(), size: 2, acquireTimeout: .seconds(5))
            #expect(try await pool.query("select 1").single().decode(0, as: Int.self) == 1)

            try cluster.stop(mode: "fast")
            try cluster.start()

            // The idle connection died with the old server: a transaction notices at BEGIN and retries
            // on a fresh connection, so the caller never sees the restart.
            let value = try await pool.transaction { try await $0.query("select 2").single().decode(0, as: Int.self) }
            #expect(value == 2)
            #expect(try await pool.query("select 3").single().decode(0, as: Int.self) == 3)
            await pool.shutdown()
            try cluster.stop(mode: "immediate")
        }
    }

    @Test func aQueryOnADeadConnectionFailsAndTheNextOneWorks() async throws {
        try await TestDatabase.with { database in
            // No check before lending (that finds it first: BadDayTests): the loss shows in the statement.
            try await Pool.withPool(database.owner, size: 1, idleCheckInterval: .seconds(3600)) { pool in
                let pid = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
                try await TestDatabase.with(migrated: false) { other in
                    try await other.withPool { admin in
                        try await admin.query("select pg_terminate_backend(\(pid))")
                    }
                }
                let error = try await #require(throws: PostgresError.self) { try await pool.query("select 1") }
                #expect(error.isConnectionLoss)
                #expect(try await pool.query("select 4").single().decode(0, as: Int.self) == 4)
            }
        }
    }
}

/// A thread-safe counter for tests.
final class Counter: @unchecked Sendable {
    private var count = 0
    private let lock = NSLock()
    func increment() -> Int { lock.withLock { count += 1; return count } }
    var value: Int { lock.withLock { count } }
}

/// Lets `parties` tasks wait until all of them have arrived.
actor Barrier {
    private let parties: Int
    private var arrived = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(parties: Int) { self.parties = parties }

    func arrive() async {
        arrived += 1
        if arrived >= parties {
            waiting.forEach { $0.resume() }
            waiting.removeAll()
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}

@Suite("A transaction's opening travels with its first statement")
struct TransactionPipelineTests {
    @Test func beginSettingsAndACheckCostNoRoundTripOfTheirOwn() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                // Warm: every statement prepared once on this connection.
                let check: SQL = "select \(1) = 1"
                let statement: SQL = "select current_setting('huifang.branch_id')::int + \(2)::int"
                try await pool.transaction(settings: [("huifang.branch_id", "17")], check: check) { _ = try await $0.query(statement) }
                let (connection, before, value) = try await pool.transaction(settings: [("huifang.branch_id", "17")], check: check) { connection in
                    let before = connection.roundTrips
                    let value = try await connection.query(statement).single().decode(0, as: Int.self)
                    return (connection, before, value)
                }
                #expect(value == 19, "the settings were in force for the first statement")
                #expect(connection.roundTrips - before == 2, "BEGIN, the settings, the check and the statement in one; COMMIT in another")
                // A body that sends nothing begins nothing.
                let idle = connection.roundTrips
                try await pool.transaction(settings: [("huifang.branch_id", "17")], check: check) { _ in }
                #expect(connection.roundTrips == idle)
            }
        }
    }

    @Test func independentReadsTravelTogetherAndEachGetsItsOwnRows() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                let reads: [SQL] = ["select generate_series(1, \(3))", "select 'b'::text where \(false)", "select \(7) * 6"]
                try await pool.transaction { _ = try await $0.queries(reads) }  // prepared once on this connection
                let (connection, before, results) = try await pool.transaction { connection in
                    let before = connection.roundTrips
                    return (connection, before, try await connection.queries(reads))
                }
                #expect(try results[0].map { try $0.decode(0, as: Int.self) } == [1, 2, 3])
                #expect(results[1].isEmpty)
                #expect(try results[2].single().decode(0, as: Int.self) == 42)
                #expect(connection.roundTrips - before == 2, "BEGIN and the three reads in one; COMMIT in another")
                // The first failure is the caller's, and the transaction is over: nothing after it ran.
                let error = try await #require(throws: PostgresError.self) {
                    try await pool.transaction { try await $0.queries(["select 1 / \(0)", "select \(1)"]) }
                }
                #expect(error.sqlState == "22012")
                #expect(try await pool.transaction { try await $0.query("select 5").single().decode(0, as: Int.self) } == 5)
            }
        }
    }

    /// The connection keeps 1,000 prepared statements and then forgets them all; a pipeline that
    /// crosses that line must not send a statement named before the forgetting.
    @Test func aPipelineThatFillsTheStatementCacheStillRuns() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                // Parameterless statements are not prepared; the first read prepares pg_backend_pid's.
                let pid = try await pool.query("select pg_backend_pid() + \(0)").single().decode(0, as: Int32.self)
                for n in 1..<(Connection.statementCacheLimit - 1) {
                    try await pool.query("select \(1)::int + \(unescaped: String(n))")
                }
                let results = try await pool.transaction { db in
                    try await db.queries(["select \(2)::int * 3", "select \(3)::int * 4", "select pg_backend_pid() + \(0)"])
                }
                #expect(try results.map { try $0.single().decode(0, as: Int.self) } == [6, 12, Int(pid)])
            }
        }
    }

    @Test func aFailingCheckFailsTheTransactionBeforeItsStatementAndTheConnectionIsReused() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                let pid = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
                try await pool.query("create table pipeline_probe (n int)")
                let error = try await #require(throws: PostgresError.self) {
                    try await pool.transaction(check: "select 1 / \(0)") { try await $0.query("insert into pipeline_probe values (\(1))") }
                }
                #expect(error.sqlState == "22012")
                #expect(try await pool.query("select count(*)::int from pipeline_probe").single().decode(0, as: Int.self) == 0)
                #expect(try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self) == pid)
                #expect(try await pool.transaction { try await $0.query("select 5").single().decode(0, as: Int.self) } == 5)
            }
        }
    }

    @Test func aStatementSentWithCommitRunsInTheCommitsRoundTripAndItsFailureCommitsNothing() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                try await pool.query("create table commit_probe (n int)")
                // Only a statement kept for the end: BEGIN, it and COMMIT in one round trip.
                let (connection, before) = try await pool.transaction { connection in
                    connection.sendWithCommit("insert into commit_probe values (\(1))")
                    return (connection, connection.roundTrips)
                }
                #expect(connection.roundTrips - before == 1)
                // Its failure is the commit's: the transaction's other change is not kept either.
                let error = try await #require(throws: PostgresError.self) {
                    try await pool.transaction { connection in
                        try await connection.query("insert into commit_probe values (\(2))")
                        connection.sendWithCommit("insert into commit_probe values (1 / \(0))")
                    }
                }
                #expect(error.sqlState == "22012")
                #expect(!error.isOutcomeUnknown)
                let kept = try await pool.query("select array_agg(n order by n) from commit_probe").single().decode(0, as: [Int].self)
                #expect(kept == [1])
                #expect(try await pool.transaction { try await $0.query("select 5").single().decode(0, as: Int.self) } == 5)
            }
        }
    }
}
