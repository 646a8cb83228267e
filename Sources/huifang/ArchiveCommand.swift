import ArgumentParser
import Foundation
import Logging
import Postgres
import Store

struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Detach the months of the audit trail and the fired SLA stages before a date and write them to a file.",
        discussion: """
            Every month of audit_events and sla_events that ends by --before (UTC) is detached, written with pg_dump \
            (plain SQL; restore with `psql -d DB -f FILE`: each month comes back as a table of its own in the huifang schema) \
            and dropped. Each audit chain's last archived event is kept in huifang.audit_archived_heads, so \
            `huifang audit verify` checks the chains from the first event left. The run is in the audit trail. Keep the \
            file with the backups: the database no longer holds those months. Needs pg_dump (apt-get install postgresql-client).
            """)

    @Option(help: "Archive the months that end on or before this date (YYYY-MM-DD), e.g. the first of the month ten years ago.")
    var before: String
    @Option(help: "The file to write (it must not exist).") var to: String
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard let date = PostgresDate(before) else { throw ValidationError("--before must be a date, YYYY-MM-DD") }
        guard date <= PostgresDate.shanghai(Date()) else { throw ValidationError("--before must not be in the future") }
        guard !FileManager.default.fileExists(atPath: to) else { throw ValidationError("\(to) exists; choose a new file") }
    }

    func run() async throws {
        var logger = Logger(label: "huifang.archive")
        logger.logLevel = .warning
        let file = URL(fileURLWithPath: to).standardizedFileURL
        let archived = try await database.withDatabase(logger: logger) { environment in
            try await environment.requireCurrentSchema(logger: logger)
            return try await HistoryArchive.archive(before: PostgresDate(before)!, to: file, owner: environment.owner, logger: logger)
        }
        if archived.tables.isEmpty {
            print("nothing to archive: no month ends by \(before)")
        } else {
            print("archived \(archived.auditEvents) audit events and \(archived.slaEvents) fired SLA stages "
                + "(\(archived.tables.joined(separator: ", "))) to \(file.path)")
        }
    }
}
