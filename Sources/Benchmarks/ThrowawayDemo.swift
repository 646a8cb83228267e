import DemoData
import Foundation
import HummingbirdBcrypt
import Logging
import Postgres
import Server
import Store

/// A private PostgreSQL in a temporary directory, for benchmarks that must not touch a configured
/// one; removed afterwards.
enum ThrowawayDemo {
    /// Creates `database` on `cluster`, migrates it and loads `demo`: the organization only, or with
    /// `full` everything `huifang demo` loads on its first run.
    static func createDatabase(_ database: String, on cluster: EmbeddedCluster, demo: DemoData, full: Bool, logger: Logger) async throws {
        try await Pool.withPool(cluster.configuration(), logger: logger) { pool in
            try await pool.withConnection { try await $0.run(script: "create database \(database)") }
        }
        try await Pool.withPool(cluster.configuration(database: database), logger: logger) { pool in
            _ = try await Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: logger).migrate()
            let hash = Bcrypt.hash(DemoData.password, cost: AppConfiguration.defaultBcryptCost)
            if full {
                _ = try await demo.loadDemo(into: pool, passwordHash: hash)
            } else {
                try await demo.load(into: pool, passwordHash: hash)
            }
        }
    }
}

extension APIBenchmark {
    /// Runs against a `huifang serve` child on a throwaway cluster holding the default demo.
    public func runOnThrowawayDemo(logger: Logger) async throws -> Bool {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("huifang-bench-api-\(getpid())")
        let cluster = try EmbeddedCluster(dataDirectory: directory.appendingPathComponent("pgdata"), logger: logger)
        try cluster.start()
        defer {
            try? cluster.stop()
            try? FileManager.default.removeItem(at: directory)
        }
        print("preparing a throwaway PostgreSQL with the default demo (20 branches, 20,000 clients) …")
        fflush(nil)
        let database = "huifang"
        try await ThrowawayDemo.createDatabase(database, on: cluster, demo: DemoData(), full: true, logger: logger)
        return try await run(
            server: .child(ownerURL: cluster.url(database: database)), owner: cluster.configuration(database: database),
            application: cluster.configuration(database: database, user: DatabaseRoles.application), logger: logger)
    }
}
