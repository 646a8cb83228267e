import Foundation
import Postgres
import Testing
import TestSupport

@Suite("The migrator applies each file once, in order, and refuses edited history")
struct MigratorTests {
    func makeMigrations(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("definitions"), withIntermediateDirectories: true)
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
                #expect(try await migrator.migrate().migrations.map(\.label) == ["0001_first", "0002_second"])
                #expect(try await migrator.migrate().migrations.isEmpty)
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
                            try await Migrator(pool: pool, directory: directory).migrate().migrations.count
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

    // Repeatable definitions: `definitions/NN_area.sql`, applied after the migrations.

    func answer(_ pool: Pool) async throws -> Int {
        try await pool.query("select huifang.answer()").single().decode(0, as: Int.self)
    }

    func write(_ text: String, to file: String, in directory: URL) throws {
        try text.write(to: directory.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }

    @Test func definitionsAreAppliedAfterTheMigrationsAndAgainOnlyWhenTheyChange() async throws {
        let directory = try makeMigrations([
            "0001_table.sql": "create table huifang.t (id int);",
            // Applied after 0001, although its name sorts first: it uses the table.
            "definitions/10_answer.sql": "create or replace function huifang.answer() returns int language sql as 'select count(*)::int + 1 from huifang.t';",
            "definitions/20_other.sql": "create or replace function huifang.other() returns int language sql as 'select 7';",
        ])
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                let first = try await Migrator(pool: pool, directory: directory).migrate()
                #expect(first.migrations.map(\.label) == ["0001_table"])
                #expect(first.definitions.map(\.name) == ["10_answer.sql", "20_other.sql"])
                #expect(try await answer(pool) == 1)
                #expect(try await Migrator(pool: pool, directory: directory).migrate().definitions.isEmpty)

                try write(
                    "create or replace function huifang.answer() returns int language sql as 'select 42';", to: "definitions/10_answer.sql",
                    in: directory)
                let migrator = try Migrator(pool: pool, directory: directory)
                let states = try await migrator.definitionStatus()
                #expect(states.map(\.definition.name) == ["10_answer.sql", "20_other.sql"])
                #expect(states[0].state == .changed)
                #expect(states[1].isCurrent)
                #expect(try await migrator.migrate().definitions.map(\.name) == ["10_answer.sql"])
                #expect(try await answer(pool) == 42)
                #expect(try await migrator.definitionStatus().allSatisfy(\.isCurrent))
            }
        }
    }

    @Test func aNumberedMigrationBringsBackEveryDefinition() async throws {
        let directory = try makeMigrations([
            "0001_table.sql": "create table huifang.t (id int);",
            "definitions/10_answer.sql": "create or replace function huifang.answer() returns int language sql as 'select 42';",
        ])
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                try await Migrator(pool: pool, directory: directory).migrate()
                // A later migration may drop what a definition holds (to change a column it reads, say);
                // the unchanged definition must be applied again, or the function would be gone.
                try write("drop function huifang.answer();", to: "0002_drop.sql", in: directory)
                let applied = try await Migrator(pool: pool, directory: directory).migrate()
                #expect(applied.migrations.map(\.label) == ["0002_drop"])
                #expect(applied.definitions.map(\.name) == ["10_answer.sql"])
                #expect(try await answer(pool) == 42)
            }
        }
    }

    @Test func aFailingDefinitionRollsBackNamesItsFileAndIsTriedAgainNextTime() async throws {
        let directory = try makeMigrations([
            "definitions/10_answer.sql": "create or replace function huifang.answer() returns int language sql as 'select 42';",
            "definitions/20_broken.sql": "create or replace function huifang.broken() returns int language sql as 'select 1';\nselect no_such_function();",
        ])
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                let error = try await #require(throws: MigrationError.self) {
                    try await Migrator(pool: pool, directory: directory).migrate()
                }
                #expect(error.description.contains("definitions/20_broken.sql"))
                #expect(try await answer(pool) == 42)
                #expect(try await pool.query("select to_regprocedure('huifang.broken()') is null").single().decode(0, as: Bool.self))
                let recorded = try await pool.query("select name from huifang.schema_definitions").map { try $0.decode(0, as: String.self) }
                #expect(recorded == ["10_answer.sql"])

                try write("create or replace function huifang.broken() returns int language sql as 'select 1';", to: "definitions/20_broken.sql", in: directory)
                #expect(try await Migrator(pool: pool, directory: directory).migrate().definitions.map(\.name) == ["20_broken.sql"])
            }
        }
    }

    @Test func aDefinitionFileRemovedFromTheFolderLeavesNoRecord() async throws {
        let directory = try makeMigrations([
            "definitions/10_answer.sql": "create or replace function huifang.answer() returns int language sql as 'select 42';",
            "definitions/20_other.sql": "select 1;",
        ])
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                try await Migrator(pool: pool, directory: directory).migrate()
                try FileManager.default.removeItem(at: directory.appendingPathComponent("definitions/20_other.sql"))
                try await Migrator(pool: pool, directory: directory).migrate()
                let recorded = try await pool.query("select name from huifang.schema_definitions").map { try $0.decode(0, as: String.self) }
                #expect(recorded == ["10_answer.sql"])
            }
        }
    }

    @Test func definitionFilesNeedTwoDigitsThatOrderThem() throws {
        let directory = try makeMigrations(["definitions/calendar.sql": "select 1;"])
        #expect(throws: MigrationError.badDefinitionName("calendar.sql")) { try Definition.load(fromMigrations: directory) }
    }

    @Test func aDefinitionNamesWhatItDefines() throws {
        let script = """
            -- create function in a comment is not a definition
            create or replace function huifang.stop_clock(p bigint) returns void language sql as $$ select 1 $$;
            create or replace trigger timers_schedule
                before insert or update of calendar, started_at on huifang.timers
                for each row execute function huifang.timers_schedule();
            drop policy if exists read_scoped on huifang.timers;
            create policy read_scoped on huifang.timers for select to huifang_app using (true);
            create or replace view huifang.open_timers as select 1;
            """
        let objects = Definition(name: "50_timers.sql", script: script).objects
        #expect(objects.map(\.description) == [
            "function huifang.stop_clock",
            "trigger timers_schedule on huifang.timers",
            "policy read_scoped on huifang.timers",
            "view huifang.open_timers",
        ])
    }
}
