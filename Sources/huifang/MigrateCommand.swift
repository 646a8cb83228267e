import ArgumentParser
import Foundation
import Logging
import Postgres
import Store

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending migrations from sql/ (or list them with --status).")

    @Flag(help: "List applied and pending migrations without applying anything.") var status = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = Logger(label: "huifang.migrate")
        try await database.withDatabase(logger: logger) { environment in
            if status {
                let pool = Pool(configuration: environment.owner, size: 1, logger: logger)
                do {
                    let migrator = try Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: logger)
                    for entry in try await migrator.status() {
                        switch entry.state {
                        case .applied(let at): print("applied  \(entry.migration.label)  \(at)")
                        case .pending: print("pending  \(entry.migration.label)")
                        }
                    }
                    await pool.shutdown()
                } catch {
                    await pool.shutdown()
                    throw error
                }
            } else {
                let result = try await environment.migrate(logger: logger)
                for migration in result.applied { print("applied  \(migration.label)") }
                print("database is at migration \(result.all.last?.label ?? "none"); \(result.applied.count) applied now")
            }
        }
    }
}
