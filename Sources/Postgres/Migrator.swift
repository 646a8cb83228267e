import Foundation
import Logging

/// Applies numbered SQL files in order, each in its own transaction, recording their checksums in
/// `huifang.schema_migrations`. A session advisory lock makes concurrent migrators take turns.
public struct Migrator: Sendable {
    public let pool: Pool
    public let migrations: [Migration]
    let logger: Logger

    /// Arbitrary but fixed: the advisory lock key every Huifang migrator takes.
    static let lockKey: Int64 = 0x6875_6966_616E_67  // "huifang"

    public init(pool: Pool, directory: URL, logger: Logger = Logger(label: "huifang.migrate")) throws {
        self.pool = pool
        self.migrations = try Migration.load(from: directory)
        self.logger = logger
    }

    public enum State: Sendable, Equatable {
        case applied(at: Date)
        case pending
    }

    public struct Status: Sendable {
        public var migration: Migration
        public var state: State
    }

    /// Applies every pending migration; returns the ones it applied.
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await pool.withConnection { connection in
            try await connection.query("select pg_advisory_lock(\(Self.lockKey))")
            do {
                let applied = try await apply(on: connection)
                try await connection.query("select pg_advisory_unlock(\(Self.lockKey))")
                return applied
            } catch {
                if connection.isHealthy { _ = try? await connection.query("select pg_advisory_unlock(\(Self.lockKey))") }
                throw error
            }
        }
    }

    private func apply(on connection: Connection) async throws -> [Migration] {
        try await connection.run(
            script: """
                create schema if not exists huifang;
                create table if not exists huifang.schema_migrations (
                    version int primary key,
                    name text not null,
                    checksum text not null,
                    applied_at timestamptz not null default now(),
                    duration_ms int not null
                );
                """)
        let recorded = try await recordedChecksums(on: connection)
        try validate(recorded)
        var applied: [Migration] = []
        for migration in migrations where recorded[migration.version] == nil {
            let started = ContinuousClock.now
            try await connection.run(script: "BEGIN")
            do {
                try await connection.run(script: "set local search_path = huifang, public")
                for step in migration.steps {
                    switch step {
                    case .sql(let text):
                        try await connection.run(script: text)
                    case .copy(let target, let data, _):
                        try await connection.copyIn("COPY \(target) FROM STDIN (FORMAT csv, HEADER true)") { writer in
                            try writer.write(bytes: data)
                        }
                    }
                }
                let elapsed = ContinuousClock.now - started
                let milliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
                try await connection.query(
                    """
                    insert into huifang.schema_migrations (version, name, checksum, duration_ms)
                    values (\(migration.version), \(migration.name), \(migration.checksum), \(milliseconds))
                    """)
                try await connection.run(script: "COMMIT")
            } catch {
                if connection.isHealthy { try? await connection.run(script: "ROLLBACK") }
                throw MigrationError.failed(migration.label, "\(error)")
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.label)"])
            applied.append(migration)
        }
        return applied
    }

    /// Each applied migration with its state, plus the pending ones.
    public func status() async throws -> [Status] {
        let rows = try await pool.withConnection { connection -> [Int: (String, Date)] in
            let exists = try await connection.query("select to_regclass('huifang.schema_migrations') is not null")
            guard try exists.single().decode(0, as: Bool.self) else { return [:] }
            var rows: [Int: (String, Date)] = [:]
            for row in try await connection.query("select version, checksum, applied_at from huifang.schema_migrations") {
                rows[try row.decode(0)] = (try row.decode(1), try row.decode(2))
            }
            return rows
        }
        try validate(rows.mapValues(\.0))
        return migrations.map { migration in
            Status(migration: migration, state: rows[migration.version].map { .applied(at: $0.1) } ?? .pending)
        }
    }

    private func recordedChecksums(on connection: Connection) async throws -> [Int: String] {
        var recorded: [Int: String] = [:]
        for row in try await connection.query("select version, checksum from huifang.schema_migrations") {
            recorded[try row.decode(0)] = try row.decode(1)
        }
        return recorded
    }

    private func validate(_ recorded: [Int: String]) throws {
        let byVersion = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, checksum) in recorded.sorted(by: { $0.key < $1.key }) {
            guard let migration = byVersion[version] else {
                throw MigrationError.missingFile(String(format: "%04d", version))
            }
            guard migration.checksum == checksum else {
                throw MigrationError.changedAfterApply(migration.label, applied: checksum, now: migration.checksum)
            }
        }
    }
}
