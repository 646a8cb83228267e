import ArgumentParser
import Domain
import Foundation
import Logging
import Postgres
import Store

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports HQ reads: callback coverage, what is overdue, upload standing, SLA compliance.",
        subcommands: [Coverage.self, Overdue.self, Uploads.self, SLA.self, Assessment.self]
    )

    struct Coverage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Coverage per branch × rule × period against the rule's required %.",
            discussion: """
                A callback covers a member when it was completed by its deadline and its record is countersigned \
                (Art 5, 12): coverage % = completed on time ÷ population. Unreachable members were not called back; \
                they count only in attempted % ((completed + awaiting sign-off + unreachable) ÷ population). The \
                population comes from the facts (draws, accounts opened, flags raised, directive targets): population \
                minus the task columns is the members that never got a task. A month also shows the half-year and \
                year windows it lies in.
                """)

        @Option(help: "The period: YYYY-MM, YYYY-H1, YYYY-H2 or YYYY.") var period: String
        @Option(help: "Only this branch (its code).") var branch: String?
        @Flag(help: "Print CSV instead of a table.") var csv = false
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard let parsed = Period(period), parsed.kind != .day else {
                throw ValidationError("--period must be YYYY-MM, YYYY-H1, YYYY-H2 or YYYY, not \(period)")
            }
        }

        func run() async throws {
            let period = Period(period)!
            var logger = Logger(label: "huifang.report")
            logger.logLevel = .warning
            let (rows, corrected) = try await database.withDatabase(logger: logger) { environment in
                try await Pool.withPool(environment.application, logger: logger) { pool in
                    try await pool.transaction(settings: ObligationGenerator.settings, readOnly: true) { db -> ([CoverageRow], [CoverageReport.CorrectedWindow]) in
                        var branchId: Int?
                        if let branch {
                            guard let id: Int = try await db.query("select id from huifang.branches where code = \(branch)").first?.decode(0)
                            else { throw CLIError("there is no branch \(branch)") }
                            branchId = id
                        }
                        let report = CoverageReport(db)
                        return (
                            try await report.rows(for: period, branches: nil, branchId: branchId, at: Date()),
                            try await report.correctionsAfterJudging(for: period, branches: nil, branchId: branchId)
                        )
                    }
                }
            }
            if csv {
                print(CSVLine.render(CoverageRow.csvHeader))
                rows.forEach { print(CSVLine.render($0.csvFields)) }
                return
            }
            let widths = [8, 22, 8, 10, 8, 7, 5, 8, 5, 6, 7, 5, 6, 7, 7, 6, 5]
            let header = ["branch", "rule", "period", "population", "required", "on time", "late", "awaiting", "unre.", "cancel",
                          "overdue", "open", "unclas", "cov %", "att %", "req %", "met"]
            print(zip(header, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " "))
            for row in rows {
                let fields = [
                    row.branchCode, row.ruleCode, row.period, String(row.population), String(row.required), String(row.completedOnTime),
                    String(row.completedLate), String(row.awaitingSignoff), String(row.unreachable), String(row.cancelled),
                    String(row.overdue), String(row.open), row.unclassified.map(String.init) ?? "-", row.coveragePercent?.twoDecimals ?? "-",
                    row.attemptedPercent?.twoDecimals ?? "-", row.requiredPercent.twoDecimals, row.met ? "yes" : "NO",
                ]
                print(zip(fields, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " "))
            }
            if rows.isEmpty { print("no obligations in \(period); run `huifang obligations generate --period \(period)` first") }
            for window in corrected {
                print("note: \(window.branchCode) \(window.ruleCode) \(window.window) was judged on the asset snapshots known when it was "
                    + "first drawn; \(window.corrections) correction(s) entered since do not re-judge it")
            }
        }
    }
}
