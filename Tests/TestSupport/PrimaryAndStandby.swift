import Foundation
import Postgres
import Store

/// A private primary, migrated and with `OrganizationFixture` loaded, and a hot standby streaming
/// from it (`pg_basebackup -R`), for the tests of failover and of reads on a replica.
public struct PrimaryAndStandby: Sendable {
    public let primary: EmbeddedCluster
    public let standby: EmbeddedCluster
    public let fixture: OrganizationFixture
    public static let database = "huifang"

    /// Starts a pair in one of the process's `TestSlots` (two clusters are the heaviest thing a test
    /// starts), runs `body`, and stops both.
    /// - Parameter synchronous: the primary waits for the standby to flush each commit
    ///   (`synchronous_standby_names = '*'`, `synchronous_commit = on`) before it acknowledges it —
    ///   what "nothing acknowledged is lost at failover" needs.
    public static func with<T>(synchronous: Bool, _ body: (PrimaryAndStandby) async throws -> T) async throws -> T {
        try await TestSlots.hold {
            let pair = try await start(synchronous: synchronous)
            defer { pair.stop() }
            return try await body(pair)
        }
    }

    static func start(synchronous: Bool) async throws -> PrimaryAndStandby {
        let directory = ThrowawayDirectories.make(purpose: "replicated")
        let settings = [
            "fsync": "off", "full_page_writes": "off", "max_connections": "100", "wal_level": "replica",
            "synchronous_commit": synchronous ? "on" : "off",
        ]
        let primary = try EmbeddedCluster(
            dataDirectory: directory.appendingPathComponent("primary"), port: 5433, settings: settings, logger: TestCluster.quietLogger)
        ThrowawayDirectories.stopAtExit(primary, directory: directory)
        try primary.start()
        try await Pool.withPool(primary.configuration(), logger: TestCluster.quietLogger) { pool in
            try await pool.withConnection { try await $0.run(script: "CREATE DATABASE \(database)") }
        }
        let fixture = try await Pool.withPool(primary.configuration(database: database), logger: TestCluster.quietLogger) { pool in
            _ = try await Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: TestCluster.quietLogger).migrate()
            return try await OrganizationFixture.load(into: pool)
        }
        let standby = try primary.makeStandby(
            dataDirectory: directory.appendingPathComponent("standby"),
            settings: ["fsync": "off", "hot_standby_feedback": "on", "max_connections": "100"])
        ThrowawayDirectories.stopAtExit(standby, directory: directory)
        try standby.start()
        if synchronous {
            // Only now: with no standby to confirm them, commits would wait for ever.
            try await Pool.withPool(primary.configuration(), logger: TestCluster.quietLogger) { pool in
                try await pool.withConnection { connection in
                    // Two statements: ALTER SYSTEM refuses to run in the implicit transaction of several.
                    try await connection.run(script: "alter system set synchronous_standby_names = '*'")
                    try await connection.run(script: "select pg_reload_conf()")
                }
            }
        }
        let pair = PrimaryAndStandby(primary: primary, standby: standby, fixture: fixture)
        try await pair.waitUntilStandbyReplayed()
        return pair
    }

    public func primaryConfiguration(user: String = EmbeddedCluster.superuser) -> ConnectionConfiguration {
        primary.configuration(database: Self.database, user: user)
    }

    public func standbyConfiguration(user: String = EmbeddedCluster.superuser) -> ConnectionConfiguration {
        standby.configuration(database: Self.database, user: user)
    }

    /// Waits until the standby has replayed everything the primary wrote so far.
    public func waitUntilStandbyReplayed() async throws {
        let written = try await Pool.withPool(primaryConfiguration(), logger: TestCluster.quietLogger) { pool in
            try await pool.query("select pg_current_wal_insert_lsn()::text").single().decode(0, as: String.self)
        }
        try await Pool.withPool(standbyConfiguration(), logger: TestCluster.quietLogger) { pool in
            try await waitUntil(pool, "select coalesce(pg_last_wal_replay_lsn() >= \(written)::pg_lsn, false)")
        }
    }

    /// Stops both servers at once, as the end of a test.
    public func stop() {
        try? standby.stop(mode: "immediate")
        try? primary.stop(mode: "immediate")
    }
}
