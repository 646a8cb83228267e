import Foundation
import Logging
import Postgres
import Store

/// The PostgreSQL server of this test process: started once, in a throwaway directory, with a
/// migrated template database that each test clones (`CREATE DATABASE … TEMPLATE …`).
public actor TestCluster {
    public static let shared = TestCluster()

    public static let templateDatabase = "huifang_template"
    private var started: Task<EmbeddedCluster, any Error>?

    /// The running cluster, started and migrated on first use.
    public func cluster() async throws -> EmbeddedCluster {
        if let started { return try await started.value }
        let task = Task { try await Self.start() }
        started = task
        return try await task.value
    }

    private static func start() async throws -> EmbeddedCluster {
        ThrowawayDirectories.removeStale()
        let directory = ThrowawayDirectories.make(purpose: "cluster")
        let cluster = try EmbeddedCluster(
            dataDirectory: directory.appendingPathComponent("pgdata"), port: 5432,
            // Durability buys nothing in a throwaway cluster.
            settings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "600"],
            logger: quietLogger)
        try cluster.start()
        ThrowawayDirectories.stopAtExit(cluster, directory: directory)
        let admin = Pool(configuration: cluster.configuration(), size: 1, logger: quietLogger)
        try await admin.withConnection { try await $0.run(script: "CREATE DATABASE \(templateDatabase)") }
        await admin.shutdown()
        let owner = Pool(configuration: cluster.configuration(database: templateDatabase), size: 1, logger: quietLogger)
        do {
            try await Migrator(pool: owner, directory: try MigrationsDirectory.locate(), logger: quietLogger).migrate()
        } catch {
            await owner.shutdown()
            throw error
        }
        await owner.shutdown()
        return cluster
    }

    public static var quietLogger: Logger {
        var logger = Logger(label: "huifang.test")
        logger.logLevel = .warning
        return logger
    }
}

extension TestCluster {
    /// An empty directory of this test process, removed by the next run if this one cannot.
    public static func makeThrowawayDirectory(purpose: String) -> URL {
        ThrowawayDirectories.make(purpose: purpose)
    }

    /// A second, private cluster for tests that must restart or break their server, given to `body`
    /// in one of the process's `TestSlots` (a cluster of its own costs a test more than a database);
    /// `body` starts and stops it, and the process stops it at exit if `body` did not.
    public static func withPrivateCluster<T>(_ body: (EmbeddedCluster) async throws -> T) async throws -> T {
        try await TestSlots.hold { try await body(try makePrivateCluster()) }
    }

    private static func makePrivateCluster() throws -> EmbeddedCluster {
        let directory = ThrowawayDirectories.make(purpose: "private")
        let cluster = try EmbeddedCluster(
            dataDirectory: directory.appendingPathComponent("pgdata"), port: 5433,
            settings: ["fsync": "off", "synchronous_commit": "off"], logger: quietLogger)
        ThrowawayDirectories.stopAtExit(cluster, directory: directory)
        return cluster
    }
}
