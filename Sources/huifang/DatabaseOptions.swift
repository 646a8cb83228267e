import ArgumentParser
import Foundation
import Logging
import Postgres
import Store

/// Where the database is: `DATABASE_URL`, or an embedded cluster in `--data-dir`.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Directory of the embedded PostgreSQL, used when DATABASE_URL is not set.")
    var dataDir: String = ".huifang/pgdata"

    @Option(help: "Connections in the request pool.")
    var poolSize: Int = 8

    /// Starts the embedded cluster when needed, runs `body`, and stops the cluster afterwards.
    func withDatabase<T>(logger: Logger, _ body: (DatabaseEnvironment) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["DATABASE_URL"], !url.isEmpty {
            let owner = ConnectionConfiguration(conninfo: url)
            let app: ConnectionConfiguration
            if let appURL = environment["HUIFANG_APP_DATABASE_URL"], !appURL.isEmpty {
                app = ConnectionConfiguration(conninfo: appURL)
            } else {
                app = owner.connecting(as: DatabaseRoles.application, password: environment["HUIFANG_APP_PASSWORD"])
            }
            return try await body(DatabaseEnvironment(owner: owner, application: app, cluster: nil))
        }
        let cluster = try EmbeddedCluster(
            dataDirectory: URL(fileURLWithPath: dataDir, isDirectory: true), logger: logger)
        // A cluster that was already running belongs to another process: leave it running.
        let startedHere = try cluster.start()
        try await ensureDatabaseExists(cluster: cluster)
        let result: T
        do {
            result = try await body(
                DatabaseEnvironment(
                    owner: cluster.configuration(database: Self.embeddedDatabase),
                    application: cluster.configuration(database: Self.embeddedDatabase, user: DatabaseRoles.application),
                    cluster: cluster))
        } catch {
            if startedHere { try? cluster.stop() }
            throw error
        }
        if startedHere { try cluster.stop() }
        return result
    }

    static let embeddedDatabase = "huifang"

    private func ensureDatabaseExists(cluster: EmbeddedCluster) async throws {
        let pool = Pool(configuration: cluster.configuration(), size: 1)
        do {
            let exists = try await pool.query("select exists (select from pg_database where datname = \(Self.embeddedDatabase))")
            if try !exists.single().decode(0, as: Bool.self) {
                try await pool.withConnection { try await $0.run(script: "CREATE DATABASE \(Self.embeddedDatabase)") }
            }
            await pool.shutdown()
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}

/// The two connection settings of a running Huifang: the owner (migrations) and the request role.
struct DatabaseEnvironment: Sendable {
    var owner: ConnectionConfiguration
    var application: ConnectionConfiguration
    var cluster: EmbeddedCluster?

    /// Applies pending migrations as the owner; prints what it did.
    func migrate(logger: Logger) async throws -> (all: [Migration], applied: [Migration]) {
        let pool = Pool(configuration: owner, size: 1, logger: logger)
        do {
            let migrator = try Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: logger)
            let applied = try await migrator.migrate()
            if let password = ProcessInfo.processInfo.environment["HUIFANG_APP_PASSWORD"], !password.isEmpty {
                try await DatabaseRoles.setApplicationPassword(password, using: pool)
            }
            await pool.shutdown()
            return (migrator.migrations, applied)
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}

extension DatabaseEnvironment {
    /// A one-connection pool as the owner for `body`, shut down afterwards whatever happens.
    func withOwnerPool<T>(logger: Logger, _ body: (Pool) async throws -> T) async throws -> T {
        let pool = Pool(configuration: owner, size: 1, logger: logger)
        do {
            let result = try await body(pool)
            await pool.shutdown()
            return result
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}
