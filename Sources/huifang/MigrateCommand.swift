import ArgumentParser
import Foundation
import Logging
import Postgres
import Store

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending migrations and changed definitions from sql/ (or list them with --status).",
        discussion: """
            Numbered migrations (sql/NNNN_name.sql) hold tables, columns, indexes and data and are never edited \
            once landed. Definitions (sql/definitions/NN_area.sql) hold the current functions, triggers, views \
            and row-level security policies of one area each; they are applied after the migrations whenever \
            their checksum changed.
            """)

    @Flag(help: "List applied and pending migrations and definitions without applying anything.") var status = false
    @Flag(help: "Apply what is pending, then print the schema overview (Markdown, as in docs/schema.md) to standard output.")
    var describe = false
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if status && describe { throw ValidationError("--status and --describe do not go together: --status applies nothing") }
    }

    func run() async throws {
        let logger = Logger(label: "huifang.migrate")
        try await database.withDatabase(logger: logger) { environment in
            if status {
                try await environment.withOwnerPool(logger: logger) { pool in
                    let migrator = try Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: logger)
                    for entry in try await migrator.status() {
                        switch entry.state {
                        case .applied(let at): print("applied  \(entry.migration.label)  \(at)")
                        case .pending: print("pending  \(entry.migration.label)")
                        }
                    }
                    for entry in try await migrator.definitionStatus() {
                        let file = "\(Definition.folderName)/\(entry.definition.name)"
                        switch entry.state {
                        case .applied(let at): print("applied  \(file)  \(at)")
                        case .changed: print("changed  \(file)")
                        case .pending: print("pending  \(file)")
                        }
                    }
                }
                return
            }
            let result = try await environment.migrate(logger: logger)
            // With --describe, standard output is the document: the progress goes to standard error.
            let report: (String) -> Void = describe ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { print($0) }
            for migration in result.applied.migrations { report("applied  \(migration.label)") }
            for definition in result.applied.definitions { report("applied  \(Definition.folderName)/\(definition.name)") }
            report(
                "database is at migration \(result.all.last?.label ?? "none"); \(result.applied.migrations.count) migration(s) "
                    + "and \(result.applied.definitions.count) definition file(s) applied now")
            if describe {
                let markdown = try await environment.withOwnerPool(logger: logger) { pool in
                    try await SchemaDescription.markdown(pool: pool, migrationsDirectory: try MigrationsDirectory.locate())
                }
                print(markdown, terminator: "")
            }
        }
    }
}
