import ArgumentParser
import Domain
import Foundation
import Logging
import Postgres
import Store

/// `huifang report overdue|uploads|sla`: HQ's monitoring figures from the command line, every
/// branch (the scheduler's scope), as a table or CSV.
extension ReportCommand {
    struct Overdue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What is overdue now — tasks, uploads, special feedback, forwardings, problems — per branch and kind, oldest first.")

        @Option(help: "Only this kind: callback_task, record_upload, directive_feedback, problem_forwarding, problem.") var kind: String?
        @Option(help: "Only this branch (its code).") var branch: String?
        @Option(help: "At most this many items.") var limit = 100
        @Flag(help: "Print CSV instead of a table.") var csv = false
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let kind = self.kind, branch = self.branch, limit = self.limit
            let items = try await MonitoringCommand.read(database) { db in
                var filter = MonitoringQueries.Filter()
                filter.kind = kind
                filter.branchId = try await MonitoringCommand.branchId(db, code: branch)
                return try await MonitoringQueries(db, now: Date()).clocks(.overdue, filter, branches: nil, limit: limit)
            }
            let header = ["branch", "kind", "subject", "due at (Shanghai)", "age (wd)", "provisional", "title"]
            let rows = items.map {
                [$0.branchCode, $0.kind, String($0.subjectId), $0.dueAt.shanghaiText(), String($0.ageWorkdays),
                 $0.provisional ? "yes" : "no", $0.title]
            }
            MonitoringCommand.print(header, rows, csv: csv, widths: [8, 20, 9, 18, 8, 11, 40])
        }
    }

    struct Uploads: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each branch's upload of a month: on time, late, missing, pending.")

        @Option(help: "The month, YYYY-MM.") var month: String
        @Flag(help: "Print CSV instead of a table.") var csv = false
        @OptionGroup var database: DatabaseOptions

        func validate() throws { try MonitoringCommand.checkMonth(month) }

        func run() async throws {
            let month = self.month
            let rows = try await MonitoringCommand.read(database) { try await MonitoringQueries($0, now: Date()).uploadCompliance(month: month, branches: nil) }
            MonitoringCommand.print(
                ["branch", "month", "standing", "due at (Shanghai)", "submitted at", "records"],
                rows.map {
                    [$0.branchCode, month, $0.standing, $0.dueAt.map { $0.shanghaiText() } ?? "", $0.submittedAt.map { $0.shanghaiText() } ?? "",
                     $0.recordCount.map(String.init) ?? ""]
                }, csv: csv, widths: [8, 8, 10, 18, 18, 8])
        }
    }

    struct SLA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sla",
            abstract: "A month's SLA compliance: forwardings within 2 working days per functional department, problems within 15 per HQ department and branch.",
            discussion: """
                A month counts the clocks that stopped in it (met by the deadline, else breached) and those still open whose \
                deadline passed in it (breached while open); forwardings sent back as not ours count too, and apart as misrouted.
                """)

        @Option(help: "The month, YYYY-MM.") var month: String
        @Flag(help: "Print CSV instead of a table.") var csv = false
        @OptionGroup var database: DatabaseOptions

        func validate() throws { try MonitoringCommand.checkMonth(month) }

        func run() async throws {
            let month = self.month
            let sections = try await MonitoringCommand.read(database) { db -> [(String, [MonitoringQueries.Compliance])] in
                let monitoring = MonitoringQueries(db, now: Date())
                let problems = try await monitoring.problemCompliance(month: month, branches: nil)
                return [
                    ("forwardings by department", try await monitoring.forwardingCompliance(month: month, branches: nil)),
                    ("problems by HQ department", problems.byDepartment),
                    ("problems by branch", problems.byBranch),
                ]
            }
            let rows = sections.flatMap { section, rows in
                rows.map { row in
                    [section, row.code, String(row.total), String(row.met), String(row.breachedStopped), String(row.breachedOpen),
                     String(row.misrouted), row.share.map { String(format: "%.1f", $0 * 100) } ?? "-",
                     row.medianWorkdays.map { String(format: "%.1f", $0) } ?? "-", row.p90Workdays.map { String(format: "%.1f", $0) } ?? "-"]
                }
            }
            MonitoringCommand.print(
                ["figure", "unit", "total", "met", "breached stopped", "breached open", "misrouted", "met %", "median wd", "p90 wd"], rows,
                csv: csv, widths: [26, 8, 7, 7, 16, 13, 9, 7, 10, 8])
        }
    }
}

extension ReportCommand {
    struct Assessment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The figures that feed performance assessment (Art 19), per branch, department or person, as CSV.",
            discussion: "Judged as of the month's end, so a closed month always gives the same file.")

        @Option(help: "The month, YYYY-MM.") var month: String
        @Option(help: "branch, department or person.") var by: String = "branch"
        @Option(help: "Write the CSV to this file instead of standard output.") var output: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            try MonitoringCommand.checkMonth(month)
            guard AssessmentExport.Unit(rawValue: by) != nil else { throw ValidationError("--by must be branch, department or person") }
        }

        func run() async throws {
            let month = self.month, unit = AssessmentExport.Unit(rawValue: by)!
            let table = try await MonitoringCommand.read(database) { try await AssessmentExport($0).table(unit, month: month, branches: nil) }
            if let output {
                try Data(table.csv.utf8).write(to: URL(fileURLWithPath: output))
                Swift.print("wrote \(table.rows.count) rows to \(output)")
            } else {
                Swift.print(table.csv, terminator: "")
            }
        }
    }
}

enum MonitoringCommand {
    static func read<T: Sendable>(_ database: DatabaseOptions, _ body: @escaping @Sendable (Connection) async throws -> T) async throws -> T {
        var logger = Logger(label: "huifang.report")
        logger.logLevel = .warning
        return try await database.withDatabase(logger: logger) { environment in
            try await environment.requireCurrentSchema(logger: logger)
            return try await Pool.withPool(environment.application, logger: logger) { pool in
                try await pool.transaction(settings: ObligationGenerator.settings + MonitoringQueries.settings, readOnly: true, body)
            }
        }
    }

    static func branchId(_ db: Connection, code: String?) async throws -> Int? {
        guard let code else { return nil }
        guard let id: Int = try await db.query("select id from huifang.branches where code = \(code)").first?.decode(0) else {
            throw CLIError("there is no branch \(code)")
        }
        return id
    }

    static func checkMonth(_ month: String) throws {
        guard Patterns.matches(month, "^[0-9]{4}-(0[1-9]|1[0-2])$") else {
            throw ValidationError("--month must be YYYY-MM, not \(month)")
        }
    }

    static func print(_ header: [String], _ rows: [[String]], csv: Bool, widths: [Int]) {
        if csv {
            Swift.print(CSVLine.render(header))
            rows.forEach { Swift.print(CSVLine.render($0)) }
            return
        }
        let line = { (fields: [String]) in zip(fields, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " ") }
        Swift.print(line(header))
        rows.forEach { Swift.print(line($0)) }
        if rows.isEmpty { Swift.print("(none)") }
    }
}
