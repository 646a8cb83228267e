import ArgumentParser
import Foundation
import Logging
import Postgres
import Store

/// Where the database is: `DATABASE_URL`, or an embedded cluster in `--data-dir`.
struct DatabaseOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Directory of the embedded PostgreSQL, used when DATABASE_URL is not set (default: .huifang/pgdata).",
            discussion: "Under root, when the postgres user cannot reach .huifang/, the cluster lives under /var/lib/huifang/ "
                + "and .huifang/cluster-location says where."))
    var dataDir: String?

    @Option(help: "Connections in the request pool.")
    var poolSize: Int = 8

    /// Starts the embedded cluster when needed, runs `body`, and stops the cluster afterwards.
    func withDatabase<T>(logger: Logger, _ body: (DatabaseEnvironment) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        if let (owner, app) = DatabaseRoles.connections(environment: environment) {
            return try await body(DatabaseEnvironment(owner: owner, application: app, cluster: nil))
        }
        let location = try EmbeddedClusterLocation.resolve(requested: dataDir)
        if let notice = location.notice { FileHandle.standardError.write(Data((notice + "\n").utf8)) }
        let cluster = try EmbeddedCluster(dataDirectory: location.dataDirectory, logger: logger)
        // A cluster whose owner still runs belongs to that process: leave it running.
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
        try await Pool.withPool(cluster.configuration()) { pool in
            let exists = try await pool.query("select exists (select from pg_database where datname = \(Self.embeddedDatabase))")
            if try !exists.single().decode(0, as: Bool.self) {
                try await pool.withConnection { try await $0.run(script: "CREATE DATABASE \(Self.embeddedDatabase)") }
            }
        }
    }
}

/// The two connection settings of a running Huifang: the owner (migrations) and the request role.
struct DatabaseEnvironment: Sendable {
    var owner: ConnectionConfiguration
    var application: ConnectionConfiguration
    var cluster: EmbeddedCluster?

    /// Applies pending migrations as the owner; prints what it did.
    /// Refuses, with the command that fixes it, a database whose schema is behind this build: the
    /// commands that only read would otherwise fail on the first missing table with a bare SQL error.
    func requireCurrentSchema(logger: Logger) async throws {
        let (pending, stale) = try await Pool.withPool(owner, logger: logger) { pool in
            let migrator = try Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: logger)
            return (
                try await migrator.status().filter { $0.state == .pending }.map(\.migration),
                try await migrator.definitionStatus().filter { !$0.isCurrent }.map(\.definition))
        }
        if let first = pending.first {
            throw CLIError(
                "the database lacks \(pending.count) migration(s) of this build, from \(first.label); "
                    + "run `huifang migrate` (with the same --data-dir or DATABASE_URL) first")
        }
        if !stale.isEmpty {
            throw CLIError(
                "the database's definitions differ from this build's (\(stale.map(\.name).joined(separator: ", "))); "
                    + "run `huifang migrate` (with the same --data-dir or DATABASE_URL) first")
        }
    }

    func migrate(logger: Logger) async throws -> (all: [Migration], applied: Migrator.Applied) {
        try await Pool.withPool(owner, logger: logger) { pool in
            let migrator = try Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: logger)
            let applied = try await migrator.migrate()
            if let password = ProcessInfo.processInfo.environment["HUIFANG_APP_PASSWORD"], !password.isEmpty {
                try await DatabaseRoles.setApplicationPassword(password, using: pool)
            }
            return (migrator.migrations, applied)
        }
    }
}

extension DatabaseEnvironment {
    /// A one-connection pool as the owner for `body`, shut down afterwards whatever happens.
    func withOwnerPool<T>(logger: Logger, _ body: (Pool) async throws -> T) async throws -> T {
        try await Pool.withPool(owner, logger: logger, body)
    }
}
