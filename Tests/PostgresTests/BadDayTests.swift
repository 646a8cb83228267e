import Foundation
@testable import Postgres
import Testing
import TestSupport

/// Issue 17: the database's bad days — deadlines, cancellation, lost commits, dead connections,
/// overload, schema changes under prepared statements, and shutdown.
@Suite("The pool survives the database's bad days")
struct BadDayTests {
    // MARK: Deadlines

    @Test func optionsOfTheDatabaseURLReachTheServer() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let keyValue = ConnectionConfiguration(conninfo: database.owner.conninfo + " options='-c lock_timeout=1234'")
            let url = ConnectionConfiguration(
                conninfo: database.cluster.url(database: database.name) + "&options=-c%20lock_timeout%3D4321")
            for (configuration, expected) in [(keyValue, "1234ms"), (url, "4321ms")] {
                try await database.withPool(configuration, size: 1) { (pool: Pool) async throws in
                    #expect(try await pool.query("select current_setting('lock_timeout')").single().decode(0, as: String.self) == expected)
                    // The settings the decoders rely on are still there.
                    #expect(try await pool.query("select current_setting('TimeZone')").single().decode(0, as: String.self) == "UTC")
                }
            }
            // The URL's options win over the application's defaults.
            try await database.withPool(url.with(SessionTimeouts(statement: .seconds(7), lock: .seconds(2))), size: 1) { pool in
                let row = try await pool.query("select current_setting('statement_timeout'), current_setting('lock_timeout')").single()
                #expect(try row.decode(0, as: String.self) == "7s")
                #expect(try row.decode(1, as: String.self) == "4321ms")
            }
        }
    }

    @Test func keepalivesAreOnForTCPHostsOnly() {
        let tcp = ConnectionConfiguration(conninfo: "postgresql://u@db.example:5432/huifang").keywordsAndValues
        #expect(tcp.contains { $0 == ("keepalives", "1") })
        #expect(tcp.contains { $0.0 == "tcp_user_timeout" })
        // The URL may still say otherwise: it comes after the defaults, and libpq keeps the last value.
        #expect(tcp.firstIndex { $0.0 == "keepalives" }! < tcp.firstIndex { $0.0 == "dbname" }!)
        let socket = ConnectionConfiguration(conninfo: "host=/run/postgresql dbname=huifang").keywordsAndValues
        #expect(!socket.contains { $0.0 == "keepalives" })
    }

    /// Several hosts (issue 22): libpq gets them as written, preferring the one that accepts writes
    /// unless the URL says otherwise or the pool reads from a standby.
    @Test func severalHostsPreferTheWritableOneUnlessTheURLSaysOtherwise() {
        func attrs(_ configuration: ConnectionConfiguration) -> [String] {
            configuration.keywordsAndValues.filter { $0.0 == "target_session_attrs" }.map(\.1)
        }
        let both = ConnectionConfiguration(conninfo: "postgresql://owner:pw@db1:5432,db2:5433/huifang").connecting(as: "huifang_app")
        #expect(attrs(both) == ["read-write"])
        #expect(both.keywordsAndValues.contains { $0 == ("dbname", "postgresql://owner:pw@db1:5432,db2:5433/huifang") })
        #expect(both.keywordsAndValues.last! == ("user", "huifang_app"))
        // The URL's own value comes after the default, and libpq keeps the last.
        let any = ConnectionConfiguration(conninfo: "postgresql://db1,db2/huifang?target_session_attrs=any")
        let values = any.keywordsAndValues
        #expect(values.firstIndex { $0.0 == "target_session_attrs" }! < values.firstIndex { $0.0 == "dbname" }!)
        var replica = ConnectionConfiguration(conninfo: "host=/a,/b dbname=huifang")
        replica.readsFromStandby = true
        #expect(attrs(replica).isEmpty)
        #expect(attrs(ConnectionConfiguration(conninfo: "postgresql://db1/huifang")).isEmpty)
    }

    @Test func aStatementPastItsDeadlineFailsClearlyAndTheConnectionIsReused() async throws {
        try await TestDatabase.with(migrated: false) { database in
            // A deadline no quick statement misses on a machine running the whole suite (100 ms did:
            // the trivial statements around the sleep were cancelled too), far below the 60 s sleep.
            let configuration = database.owner.with(SessionTimeouts(statement: .seconds(1)))
            try await database.withPool(configuration, size: 1) { pool in
                let pid = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
                let error = try await #require(throws: PostgresError.self) {
                    try await pool.transaction { try await $0.query("select pg_sleep(60)") }
                }
                #expect(error.sqlState == "57014")
                #expect(error.isTimeout)
                #expect(!error.isConnectionLoss)
                #expect(error.message.contains("statement timeout"))
                // Same server process, no transaction left open.
                #expect(try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self) == pid)
                #expect(try await pool.transaction { try await $0.query("select 5").single().decode(0, as: Int.self) } == 5)
            }
        }
    }

    /// A transaction that sits idle (the caller does something slow between statements) is ended by
    /// the server, rolled back for sure; the pool goes on with a fresh connection.
    @Test func aTransactionLeftIdleIsEndedByTheServer() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let configuration = database.owner.with(SessionTimeouts(idleInTransaction: .milliseconds(100)))
            try await database.withPool(configuration, size: 1) { pool in
                try await pool.query("create table t (id int)")
                let error = try await #require(throws: PostgresError.self) {
                    try await pool.transaction { connection in
                        try await connection.query("insert into t values (1)")
                        try await Task.sleep(for: .seconds(1))  // idle in the transaction, ten times the limit
                        try await connection.query("insert into t values (2)")
                    }
                }
                // libpq reports the closed connection (the server's 25P03 message may or may not be read first).
                #expect(error.sqlState == "25P03" || error.isConnectionLoss, "\(error)")
                #expect(!error.isOutcomeUnknown)
                #expect(try await pool.query("select count(*) from t").single().decode(0, as: Int.self) == 0)
            }
        }
    }

    @Test func cancellingTheTaskStopsTheQueryOnTheServer() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                try await database.withPool(size: 1) { admin in
                    let pid = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
                    let sleeper = Task {
                        try await pool.transaction { try await $0.query("select pg_sleep(60)") }
                    }
                    try await waitUntil(admin, "select exists (select from pg_stat_activity where pid = \(pid) and state = 'active' and query like '%pg_sleep%')")
                    sleeper.cancel()
                    // Without a cancel sent to the server this waits out the whole minute and succeeds.
                    await #expect(throws: CancellationError.self) { try await sleeper.value }
                    let state = try await admin.query("select state from pg_stat_activity where pid = \(pid)").single()
                        .decode(0, as: String.self)
                    #expect(state == "idle")
                    // Rolled back and back in the pool: the same connection serves the next caller.
                    #expect(try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self) == pid)
                }
            }
        }
    }

    // MARK: Lost and failed commits

    @Test func aConnectionLostDuringCommitIsOutcomeUnknownAndNotRetried() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { setup in
                try await setup.withConnection {
                    try await $0.run(
                        script: """
                            create table t (id int);
                            create function slow_commit() returns trigger language plpgsql as $$
                            begin perform pg_sleep(60); return null; end $$;
                            create constraint trigger slow_commit after insert on t deferrable initially deferred
                                for each row execute function slow_commit();
                            """)
                }
            }
            try await database.withPool(size: 2) { pool in
                try await database.withPool(size: 1) { admin in
                    let attempts = Counter()
                    let writer = Task {
                        try await pool.transaction { connection in
                            _ = attempts.increment()
                            try await connection.query("insert into t values (1)")
                        }
                    }
                    let pid = try await waitUntilFound(
                        admin, "select pid from pg_stat_activity where query = 'COMMIT' and state = 'active' and datname = current_database()")
                    try await admin.query("select pg_terminate_backend(\(pid))")
                    let error = try await #require(throws: PostgresError.self) { try await writer.value }
                    #expect(error.isOutcomeUnknown)
                    #expect(error.sqlState == "08007")
                    #expect(attempts.value == 1)
                    // The pool goes on with a fresh connection.
                    #expect(try await pool.query("select 1").single().decode(0, as: Int.self) == 1)
                }
            }
        }
    }

    @Test func committingATransactionWhoseStatementFailedThrows() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                try await pool.query("create table t (id int)")
                let error = try await #require(throws: PostgresError.self) {
                    try await pool.transaction { connection in
                        try await connection.query("insert into t values (1)")
                        _ = try? await connection.query("select 1 / 0")
                    }
                }
                #expect(error.sqlState == "25P02")
                #expect(try await pool.query("select count(*) from t").single().decode(0, as: Int.self) == 0)
            }
        }
    }

    // MARK: Dead connections

    @Test func theFirstLostConnectionTakesTheIdleOnesWithIt() async throws {
        try await TestDatabase.with(migrated: false) { database in
            // No ping before lending: the loss shows in a statement.
            try await Pool.withPool(database.owner, size: 2, idleCheckInterval: .seconds(3600)) { pool in
                let pids = try await pool.withConnection { first in
                    try await pool.withConnection { second in
                        [first.backendPID, second.backendPID]
                    }
                }
                try await database.withPool(size: 1) { admin in
                    try await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where pid = any(\(pids))")
                    try await waitUntil(admin, "select not exists (select from pg_stat_activity where pid = any(\(pids)))")
                }
                let error = try await #require(throws: PostgresError.self) { try await pool.query("select 1") }
                #expect(error.isConnectionLoss)
                // The other idle connection was dropped with it: the next two callers get fresh ones.
                #expect(pool.statistics.idle == 0)
                #expect(try await pool.query("select 2").single().decode(0, as: Int.self) == 2)
                #expect(try await pool.query("select 3").single().decode(0, as: Int.self) == 3)
            }
        }
    }

    @Test func anIdleConnectionIsCheckedBeforeItIsLent() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await Pool.withPool(database.owner, size: 1, idleCheckInterval: .zero) { pool in
                let pid = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
                try await database.withPool(size: 1) { admin in
                    try await admin.query("select pg_terminate_backend(\(pid))")
                    try await waitUntil(admin, "select not exists (select from pg_stat_activity where pid = \(pid))")
                }
                // The terminated backend is found by the check, not by the caller's statement.
                let now = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
                #expect(now != pid)
            }
        }
    }

    @Test func aConnectionPastItsLifetimeIsReplaced() async throws {
        try await TestDatabase.with(migrated: false) { database in
            for (lifetime, replaced) in [(Duration?.some(.zero), true), (nil, false)] {
                let pool = Pool(configuration: database.owner, size: 1, maxLifetime: lifetime, logger: TestCluster.quietLogger)
                let first = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
                let second = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
                #expect((first != second) == replaced)
                await pool.shutdown()
            }
        }
    }

    @Test func theFirstRequestAfterARestartSucceeds() async throws {
        try await TestCluster.withPrivateCluster { cluster in
            try cluster.start()
            let pool = Pool(configuration: cluster.configuration(), size: 2, acquireTimeout: .seconds(30), idleCheckInterval: .zero)
            #expect(try await pool.query("select 1").single().decode(0, as: Int.self) == 1)
            try cluster.stop(mode: "fast")
            try cluster.start()
            // A plain statement, not a transaction: nothing retries it; the check before lending finds
            // the dead connection and opens a fresh one.
            #expect(try await pool.query("select 2").single().decode(0, as: Int.self) == 2)
            await pool.shutdown()
            try cluster.stop(mode: "immediate")
        }
    }

    @Test func aFailedConnectFailsTheWaitersAtOnce() async throws {
        // A server that accepts TCP connections and never answers: the first connect takes the whole
        // connect_timeout, long enough for the others to queue behind it.
        let silent = try SilentListener()
        defer { silent.close() }
        let configuration = ConnectionConfiguration(
            conninfo: "host=127.0.0.1 port=\(silent.port) dbname=x user=x", connectTimeoutSeconds: 2)
        // A waiter left to its timeout would sit out these ten minutes.
        let pool = Pool(configuration: configuration, size: 1, acquireTimeout: .seconds(600), logger: TestCluster.quietLogger)
        let connecting = Task { try await pool.query("select 1") }
        while pool.statistics.inUse < 1 { try await Task.sleep(for: .milliseconds(5)) }
        let waiting = (0..<2).map { _ in Task { try await pool.query("select 1") } }
        while pool.statistics.waiting < 2 { try await Task.sleep(for: .milliseconds(5)) }
        for task in [connecting] + waiting {
            let error = try await #require(throws: PostgresError.self) { try await task.value }
            #expect(error.isConnectionLoss)
        }
        await pool.shutdown()
    }

    @Test func aServerTurnedReadOnlyLosesItsConnections() async throws {
        try await TestCluster.withPrivateCluster { cluster in
            try cluster.start()
            let pool = Pool(configuration: cluster.configuration(), size: 1, idleCheckInterval: .seconds(3600))
            try await pool.query("create table if not exists t (id int)")
            let pid = try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self)
            // What fencing an old primary during a failover looks like to its clients.
            try await pool.query("alter system set default_transaction_read_only = on")
            try await pool.query("select pg_reload_conf()")
            try await waitUntil(pool, "select current_setting('default_transaction_read_only') = 'on'")
            let error = try await #require(throws: PostgresError.self) {
                try await pool.transaction { try await $0.query("insert into t values (1)") }
            }
            #expect(error.sqlState == "25006")
            #expect(pool.statistics.idle == 0)
            #expect(try await pool.query("select pg_backend_pid()").single().decode(0, as: Int32.self) != pid)
            await pool.shutdown()
            try cluster.stop(mode: "immediate")
        }
    }

    // MARK: Overload

    @Test func pastTheWaitingQueueAnAcquireFailsAtOnce() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await Pool.withPool(database.owner, size: 1, acquireTimeout: .seconds(600), maxWaiters: 2) { pool in
                let waiters = try await pool.withConnection { _ in
                    let waiters = Task {
                        try await withThrowingTaskGroup(of: Int.self) { group in
                            for index in 1...2 { group.addTask { try await pool.query("select \(index)::int").single().decode(0, as: Int.self) } }
                            return try await group.reduce(0, +)
                        }
                    }
                    while pool.statistics.waiting < 2 { try await Task.sleep(for: .milliseconds(10)) }
                    let error = try await #require(throws: PoolError.self) { try await pool.query("select 1") }
                    #expect(error == .overloaded(waiting: 2, size: 1))
                    return waiters
                }
                // The two in the queue were served once the connection came back.
                #expect(try await waiters.value == 3)
            }
        }
    }

    @Test func theAcquireTimeoutIsNotRetriedAsALostConnection() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1, acquireTimeout: .milliseconds(100)) { pool in
                let attempts = Counter()
                try await pool.withConnection { _ in
                    let error = try await #require(throws: PoolError.self) {
                        try await pool.transaction { _ in _ = attempts.increment() }
                    }
                    #expect(error == .timedOut(after: .milliseconds(100), size: 1))
                }
                #expect(attempts.value == 0)
                #expect(pool.statistics.waiting == 0)
            }
        }
    }

    // MARK: Schema changes

    @Test func aPreparedStatementSurvivesAChangedTableInATransaction() async throws {
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                try await pool.query("create table t (a int)")
                try await pool.query("insert into t values (1)")
                let before = try await pool.transaction { try await $0.query("select * from t").columnNames }
                #expect(before == ["a"])
                try await pool.query("alter table t add column b int")
                let after = try await pool.transaction { try await $0.query("select * from t").columnNames }
                #expect(after == ["a", "b"])
            }
        }
    }

    // MARK: Shutdown

    @Test func workAfterTheShutdownFailsAndALeasedConnectionFinishes() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let pool = Pool(configuration: database.owner, size: 1, logger: TestCluster.quietLogger)
            let value = try await pool.withConnection { connection in
                await pool.shutdown()
                // The pool's threads are gone; the statement still runs instead of waiting for ever.
                return try await connection.query("select 6").single().decode(0, as: Int.self)
            }
            #expect(value == 6)
            await #expect(throws: PoolError.shutDown) { try await pool.query("select 1") }
            await #expect(throws: PoolError.shutDown) { try await pool.transaction { _ in } }
        }
    }
}



/// A TCP socket on localhost that listens and never answers: connects complete, startup never does.
final class SilentListener: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else {
            _ = Glibc.close(descriptor)
            throw ListenFailed()
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}

struct ListenFailed: Error {}
