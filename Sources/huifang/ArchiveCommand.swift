import ArgumentParser
import Foundation
import Logging
import Postgres
import Store

struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Detach the months of the audit trail and the fired SLA stages (and, when asked, years of records) before a date and write them to a file.",
        discussion: """
            Every month of audit_events and sla_events that ends by --before (UTC) is detached, written with pg_dump \
            (plain SQL; restore with `psql -d DB -f FILE`: each month comes back as a table of its own in the huifang schema) \
            and dropped. Each audit chain's last archived event is kept in huifang.audit_archived_heads, so \
            `huifang audit verify` checks the chains from the first event left. The run is in the audit trail. Keep the \
            file with the backups: the database no longer holds those months. Needs pg_dump (apt-get install postgresql-client).

            Callback records are kept until --records-before names a date: then every UTC year of records that ends by it \
            goes into the same file, with its records' signatures and findings (records_YYYY, record_signatures_YYYY, \
            record_findings_YYYY). A year that a task, a problem, a client profile or a later amendment still points at is \
            not archived, and then nothing is: the message names what still points at it.
            """)

    @Option(help: "Archive the months that end on or before this date (YYYY-MM-DD), e.g. the first of the month ten years ago.")
    var before: String
    @Option(help: "Also archive the years of callback records that end on or before this date (YYYY-MM-DD, e.g. 2007-01-01). Without it no record is archived.")
    var recordsBefore: String?
    @Option(help: "The file to write (it must not exist).") var to: String
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard let date = PostgresDate(before) else { throw ValidationError("--before must be a date, YYYY-MM-DD") }
        guard date <= PostgresDate.shanghai(Date()) else { throw ValidationError("--before must not be in the future") }
        guard !FileManager.default.fileExists(atPath: to) else { throw ValidationError("\(to) exists; choose a new file") }
        if let recordsBefore {
            guard let date = PostgresDate(recordsBefore) else { throw ValidationError("--records-before must be a date, YYYY-MM-DD") }
            guard date <= PostgresDate.shanghai(Date()) else { throw ValidationError("--records-before must not be in the future") }
        }
    }

    func run() async throws {
        var logger = Logger(label: "huifang.archive")
        logger.logLevel = .warning
        let file = URL(fileURLWithPath: to).standardizedFileURL
        let archived = try await database.withDatabase(logger: logger) { environment in
            try await environment.requireCurrentSchema(logger: logger)
            return try await HistoryArchive.archive(
                before: PostgresDate(before)!, recordsBefore: recordsBefore.flatMap(PostgresDate.init), to: file, owner: environment.owner,
                logger: logger)
        }
        if archived.tables.isEmpty {
            print("nothing to archive: no month ends by \(before)" + (recordsBefore.map { " and no year of records by \($0)" } ?? ""))
        } else {
            let records = recordsBefore == nil ? "" : ", \(archived.records) records (\(archived.recordSignatures) signatures, "
                + "\(archived.recordFindings) findings)"
            print("archived \(archived.auditEvents) audit events and \(archived.slaEvents) fired SLA stages\(records) "
                + "(\(archived.tables.joined(separator: ", "))) to \(file.path)")
        }
    }
}
