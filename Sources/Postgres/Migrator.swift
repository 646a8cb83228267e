import Foundation
import Logging

/// Applies numbered SQL files in order, each in its own transaction, recording their checksums in
/// `huifang.schema_migrations`; then the repeatable definitions (`definitions/NN_area.sql`) whose
/// checksum changed, recorded in `huifang.schema_definitions`, and all of them when a numbered
/// migration ran (it may have dropped what they define). A session advisory lock makes concurrent
/// migrators take turns.
public struct Migrator: Sendable {
    public let pool: Pool
    public let migrations: [Migration]
    public let definitions: [Definition]
    let logger: Logger

    /// Arbitrary but fixed: the advisory lock key every Huifang migrator takes.
    static let lockKey: Int64 = 0x6875_6966_616E_67  // "huifang"

    public init(pool: Pool, directory: URL, logger: Logger = Logger(label: "huifang.migrate")) throws {
        self.pool = pool
        self.migrations = try Migration.load(from: directory)
        self.definitions = try Definition.load(fromMigrations: directory)
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

    public enum DefinitionState: Sendable, Equatable {
        case applied(at: Date)
        /// Applied once, edited since.
        case changed
        case pending
    }

    public struct DefinitionStatus: Sendable {
        public var definition: Definition
        public var state: DefinitionState

        /// Applied as the file reads now.
        public var isCurrent: Bool {
            if case .applied = state { true } else { false }
        }
    }

    /// What one run applied.
    public struct Applied: Sendable {
        public var migrations: [Migration]
        public var definitions: [Definition]
    }

    /// Applies every pending migration, then the definitions that need it; returns what it applied.
    @discardableResult
    public func migrate() async throws -> Applied {
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

    private func apply(on connection: Connection) async throws -> Applied {
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
                comment on table huifang.schema_migrations is 'Numbered migrations applied, with the checksum of each file';
                create table if not exists huifang.schema_definitions (
                    name text primary key,
                    checksum text not null,
                    applied_at timestamptz not null default now(),
                    duration_ms int not null
                );
                comment on table huifang.schema_definitions is
                    'Repeatable definition files (sql/definitions) as last applied: applied again when their checksum changes';
                """)
        let recorded = try await recordedChecksums(on: connection)
        try validate(recorded)
        var applied = Applied(migrations: [], definitions: [])
        for migration in migrations where recorded[migration.version] == nil {
            try await inTransaction(on: connection, failure: { MigrationError.failed(migration.label, $0) }) { milliseconds in
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
                try await connection.query(
                    """
                    insert into huifang.schema_migrations (version, name, checksum, duration_ms)
                    values (\(migration.version), \(migration.name), \(migration.checksum), \(milliseconds()))
                    """)
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.label)"])
            applied.migrations.append(migration)
        }
        let recordedDefinitions = try await definitionChecksums(on: connection)
        for definition in definitions where !applied.migrations.isEmpty || recordedDefinitions[definition.name] != definition.checksum {
            try await inTransaction(on: connection, failure: { MigrationError.definitionFailed(definition.name, $0) }) { milliseconds in
                try await connection.run(script: definition.script)
                try await connection.query(
                    """
                    insert into huifang.schema_definitions (name, checksum, duration_ms)
                    values (\(definition.name), \(definition.checksum), \(milliseconds()))
                    on conflict (name) do update
                    set checksum = excluded.checksum, applied_at = now(), duration_ms = excluded.duration_ms
                    """)
            }
            logger.info("applied definitions", metadata: ["file": "\(definition.name)"])
            applied.definitions.append(definition)
        }
        // A file renamed or merged away leaves no record behind; what it defined is checked by the
        // test that every function, trigger and policy has exactly one definition.
        try await connection.query(
            "delete from huifang.schema_definitions where name <> all(\(definitions.map(\.name)))")
        return applied
    }

    /// Runs `body` in a transaction with the schema on the search path; a failure rolls back and
    /// throws `failure` of the reason. `body` gets the milliseconds since the start, for its record.
    private func inTransaction(
        on connection: Connection, failure: (String) -> MigrationError, _ body: (_ milliseconds: () -> Int) async throws -> Void
    ) async throws {
        let started = ContinuousClock.now
        try await connection.run(script: "BEGIN")
        do {
            try await connection.run(script: "set local search_path = huifang, public")
            try await body {
                let elapsed = ContinuousClock.now - started
                return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            }
            try await connection.run(script: "COMMIT")
        } catch {
            if connection.isHealthy { try? await connection.run(script: "ROLLBACK") }
            throw failure("\(error)")
        }
    }

    /// Each applied migration with its state, plus the pending ones.
    public func status() async throws -> [Status] {
        let rows: [Int: (String, Date)] = try await pool.withConnection { try await Self.recorded(in: "schema_migrations", key: "version", on: $0) }
        try validate(rows.mapValues(\.0))
        return migrations.map { migration in
            Status(migration: migration, state: rows[migration.version].map { .applied(at: $0.1) } ?? .pending)
        }
    }

    /// Each definition file with its state: applied, changed since, or never applied.
    public func definitionStatus() async throws -> [DefinitionStatus] {
        let rows: [String: (String, Date)] = try await pool.withConnection { try await Self.recorded(in: "schema_definitions", key: "name", on: $0) }
        return definitions.map { definition in
            let state: DefinitionState =
                switch rows[definition.name] {
                case nil: .pending
                case let (checksum, at)? where checksum == definition.checksum: .applied(at: at)
                case _?: .changed
                }
            return DefinitionStatus(definition: definition, state: state)
        }
    }

    /// The checksum and time of each file `table` records, by `key`; none before the table exists.
    private static func recorded<Key: PostgresDecodable & Hashable>(
        in table: String, key: String, on connection: Connection
    ) async throws -> [Key: (String, Date)] {
        let exists = try await connection.query("select to_regclass(\("huifang." + table)) is not null")
        guard try exists.single().decode(0, as: Bool.self) else { return [:] }
        var rows: [Key: (String, Date)] = [:]
        for row in try await connection.query("select \(unescaped: key), checksum, applied_at from huifang.\(unescaped: table)") {
            rows[try row.decode(0)] = (try row.decode(1), try row.decode(2))
        }
        return rows
    }

    private func definitionChecksums(on connection: Connection) async throws -> [String: String] {
        try await Self.recorded(in: "schema_definitions", key: "name", on: connection).mapValues(\.0)
    }

    private func recordedChecksums(on connection: Connection) async throws -> [Int: String] {
        try await Self.recorded(in: "schema_migrations", key: "version", on: connection).mapValues(\.0)
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
