import Foundation
import Postgres
import Store
import Testing
import TestSupport

@Suite("Every function, trigger and policy has one definition, and upgraded databases end up as fresh ones")
struct SchemaDefinitionsTests {
    /// What the database does: each function's text, privileges and comment, each policy, each
    /// trigger and view. Two databases with the same catalog behave the same.
    static func catalog(_ pool: Pool) async throws -> [String] {
        try await pool.query(
            """
            select 'function ' || p.oid::regprocedure::text || E'\\n' || pg_get_functiondef(p.oid)
                   || E'\\nacl ' || coalesce(p.proacl::text, 'default') || E'\\ncomment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
            from pg_proc p where p.pronamespace = 'huifang'::regnamespace
            union all
            select format('policy %s on %s: %s %s to %s using %s with check %s', policyname, tablename, permissive, cmd, roles,
                          coalesce(qual, '-'), coalesce(with_check, '-'))
            from pg_policies where schemaname = 'huifang'
            union all
            select 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
            from pg_trigger t join pg_class c on c.oid = t.tgrelid
            where c.relnamespace = 'huifang'::regnamespace and not t.tgisinternal and t.tgparentid = 0
            union all
            select 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid)
            from pg_class c where c.relnamespace = 'huifang'::regnamespace and c.relkind in ('v', 'm')
            union all
            select format('table %s rls %s forced %s comment %s', c.relname, c.relrowsecurity, c.relforcerowsecurity,
                          coalesce(obj_description(c.oid, 'pg_class'), '-'))
            from pg_class c where c.relnamespace = 'huifang'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
            order by 1
            """
        ).map { try $0.decode(0, as: String.self) }
    }

    /// The objects the catalog has, named as the definition files name them.
    static func definedInCatalog(_ pool: Pool) async throws -> [DefinedObject] {
        try await pool.query(
            """
            select 'function', 'huifang.' || proname, null from pg_proc where pronamespace = 'huifang'::regnamespace
            union all
            select 'trigger', t.tgname, 'huifang.' || c.relname
            from pg_trigger t join pg_class c on c.oid = t.tgrelid
            where c.relnamespace = 'huifang'::regnamespace and not t.tgisinternal and t.tgparentid = 0
            union all
            select 'policy', policyname, 'huifang.' || tablename from pg_policies where schemaname = 'huifang'
            union all
            select 'view', 'huifang.' || relname, null from pg_class where relnamespace = 'huifang'::regnamespace and relkind in ('v', 'm')
            """
        ).map { row in
            DefinedObject(
                kind: try #require(DefinedObject.Kind(rawValue: try row.decode(0))), name: try row.decode(1), table: try row.decode(2))
        }
    }

    @Test func aDatabaseUpgradedFromMigration0027HasTheCatalogOfAFreshOne() async throws {
        let sql = try MigrationsDirectory.locate()
        // The folder as it was before definitions existed: migrations up to 0027 and their data.
        let old = TestCluster.makeThrowawayDirectory(purpose: "sql-0027")
        try FileManager.default.copyItem(at: sql.appendingPathComponent("data"), to: old.appendingPathComponent("data"))
        for migration in try Migration.load(from: sql) where migration.version <= 27 {
            try FileManager.default.copyItem(at: migration.file, to: old.appendingPathComponent(migration.file.lastPathComponent))
        }
        let fresh = try await TestDatabase.with { database in
            try await database.withPool(size: 1) { try await Self.catalog($0) }
        }
        try await TestDatabase.with(migrated: false) { database in
            try await database.withPool(size: 1) { pool in
                let before = try await Migrator(pool: pool, directory: old, logger: TestCluster.quietLogger).migrate()
                #expect(before.migrations.count == 27 && before.definitions.isEmpty)
                // A database of that time had no record of definitions at all.
                try await pool.query("drop table huifang.schema_definitions")
                let upgrade = try await Migrator(pool: pool, directory: sql, logger: TestCluster.quietLogger).migrate()
                #expect(upgrade.migrations.first?.version == 28)
                #expect(upgrade.definitions.count == (try Definition.load(fromMigrations: sql)).count)

                let upgraded = try await Self.catalog(pool)
                #expect(upgraded.count == fresh.count)
                // Name the differences rather than print two catalogs of hundreds of entries.
                #expect(Set(upgraded).subtracting(fresh).sorted() == [])
                #expect(Set(fresh).subtracting(upgraded).sorted() == [])

                // Applying every definition again changes nothing: each file replaces, never adds.
                try await pool.query("delete from huifang.schema_definitions")
                let again = try await Migrator(pool: pool, directory: sql, logger: TestCluster.quietLogger).migrate()
                #expect(again.definitions.count == upgrade.definitions.count)
                #expect(try await Self.catalog(pool) == upgraded)
            }
        }
        #expect(fresh.contains { $0.hasPrefix("function huifang.stop_clock(") })
    }

    @Test func everyFunctionTriggerPolicyAndViewIsDefinedInExactlyOneFile() async throws {
        let definitions = try Definition.load(fromMigrations: try MigrationsDirectory.locate())
        var files: [DefinedObject: [String]] = [:]
        for definition in definitions {
            for object in definition.objects { files[object, default: []].append(definition.name) }
        }
        let inCatalog = try await TestDatabase.with { database in
            try await database.withPool(size: 1) { try await Self.definedInCatalog($0) }
        }
        #expect(inCatalog.count > 250)
        let undefined = inCatalog.filter { files[$0] == nil }.map(\.description).sorted()
        #expect(undefined == [], "these exist in the database but no file under sql/definitions defines them")
        let twice = files.filter { $0.value.count > 1 }.map { "\($0.key) in \($0.value.joined(separator: " and "))" }.sorted()
        #expect(twice == [], "defined more than once")
        let gone = Set(files.keys).subtracting(inCatalog).map(\.description).sorted()
        #expect(gone == [], "defined in sql/definitions but missing from a migrated database")
    }

    @Test func numberedMigrationsFromNowOnDefineNoFunctionTriggerPolicyOrView() throws {
        // 0001–0030 were written before sql/definitions existed and stay as they landed.
        let lastOfTheOldWay = 30
        for migration in try Migration.load(from: try MigrationsDirectory.locate()) where migration.version > lastOfTheOldWay {
            let script = try String(contentsOf: migration.file, encoding: .utf8)
            let objects = Definition(name: migration.label, script: script).objects
            #expect(objects.isEmpty, "\(migration.label) defines \(objects); they belong in sql/definitions")
        }
    }

    @Test func docsSchemaIsWhatTheDescribeCommandPrints() async throws {
        let sql = try MigrationsDirectory.locate()
        let file = sql.deletingLastPathComponent().appendingPathComponent("docs/schema.md")
        let committed = try String(contentsOf: file, encoding: .utf8)
        let generated = try await TestDatabase.with { database in
            try await database.withPool(size: 1) { try await SchemaDescription.markdown(pool: $0, migrationsDirectory: sql) }
        }
        let differing = zip(committed.split(separator: "\n", omittingEmptySubsequences: false), generated.split(separator: "\n", omittingEmptySubsequences: false))
            .enumerated().first { $0.element.0 != $0.element.1 }
        #expect(
            committed == generated,
            """
            docs/schema.md is out of date (first difference at line \((differing?.offset ?? 0) + 1)): \
            run `swift run huifang migrate --describe > docs/schema.md`
            """)
        #expect(generated.contains("### callback_tasks"))
        #expect(generated.contains("[50_timers.sql](../sql/definitions/50_timers.sql)"))
    }
}
