import Foundation
import Postgres
import Testing
import TestSupport

@Suite("The migrator applies each file once, in order, and refuses edited history")
struct MigratorTests {
    func makeMigrations(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        for (name, contents) in files {
            try contents.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test func appliesInOrderAndRecordsChecksums() async throws {
        let directory = try makeMigrations([
            "0001_first.sql": "create table a (id int);",
            "0002_second.sql": "insert into a values (1);\n-- huifang:copy a(id) from data/ids.csv\n",
            "data/ids.csv": "id\n2\n3\n",
        ])
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                let migrator = try Migrator(pool: pool, directory: directory, logger: TestCluster.quietLogger)
                #expect(try await migrator.migrate().map(\.label) == ["0001_first", "0002_second"])
                #expect(try await migrator.migrate().isEmpty)
                let ids = try await pool.query("select id from huifang.a order by id").map { try $0.decode(0, as: Int.self) }
                #expect(ids == [1, 2, 3])
                let states = try await migrator.status().map(\.state)
                #expect(states.allSatisfy { if case .applied = $0 { true } else { false } })
            }
        }
    }

    @Test func refusesAMigrationChangedAfterItWasApplied() async throws {
        let directory = try makeMigrations(["0001_first.sql": "create table a (id int);"])
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                try await Migrator(pool: pool, directory: directory).migrate()
                try "create table a (id bigint);".write(
                    to: directory.appendingPathComponent("0001_first.sql"), atomically: true, encoding: .utf8)
                let error = try await #require(throws: MigrationError.self) {
                    try await Migrator(pool: pool, directory: directory).migrate()
                }
                guard case .changedAfterApply(let label, _, _) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(label == "0001_first")
                #expect(error.description.contains("never edited"))
            }
        }
    }

    @Test func refusesWhenAnAppliedFileDisappeared() async throws {
        let directory = try makeMigrations(["0001_first.sql": "select 1;", "0002_second.sql": "select 2;"])
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                try await Migrator(pool: pool, directory: directory).migrate()
                try FileManager.default.removeItem(at: directory.appendingPathComponent("0002_second.sql"))
                await #expect(throws: MigrationError.missingFile("0002")) {
                    try await Migrator(pool: pool, directory: directory).migrate()
                }
            }
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        let directory = try makeMigrations([
            "0001_first.sql": "create table a (id int);",
            "0002_broken.sql": "create table b (id int);\nselect no_such_function();",
        ])
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                let error = try await #require(throws: MigrationError.self) {
                    try await Migrator(pool: pool, directory: directory).migrate()
                }
                #expect(error.description.contains("0002_broken"))
                #expect(try await pool.query("select to_regclass('huifang.b') is null").single().decode(0, as: Bool.self))
                #expect(try await pool.query("select count(*) from huifang.schema_migrations").single().decode(0, as: Int.self) == 1)
            }
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        // Not idempotent on purpose: a second application would fail on the existing table.
        var files: [String: String] = [:]
        for version in 1...5 {
            files[String(format: "%04d_step.sql", version)] = "create table t\(version) (id int); select pg_sleep(0.05);"
        }
        let directory = try makeMigrations(files)
        try await TestDatabase.with(migrated: false) { database in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await database.withPool(size: 1) { pool in
                            try await Migrator(pool: pool, directory: directory).migrate().count
                        }
                    }
                }
                let applied = try await group.reduce(0, +)
                #expect(applied == 5)
            }
            try await database.withPool(size: 1) { pool in
                let rows = try await pool.query("select version from huifang.schema_migrations order by version")
                #expect(try rows.map { try $0.decode(0, as: Int.self) } == [1, 2, 3, 4, 5])
            }
        }
    }

    @Test func badFileNamesAreRejected() throws {
        let directory = try makeMigrations(["1_short.sql": "select 1;"])
        #expect(throws: MigrationError.badFileName("1_short.sql")) { try Migration.load(from: directory) }
    }
}
