import ArgumentParser
import Domain
import Foundation
import Logging
import Postgres
import Store

struct ObligationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "obligations",
        abstract: "Callback obligations: generate a period's tasks, explain why a task exists.",
        subcommands: [Generate.self, Explain.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw and create the callback tasks of a period (idempotent: a second run creates nothing).",
            discussion: """
                For a month (2026-11), a half-year (2026-H2) or a year (2026): samples the ordinary new accounts of every \
                opening day that is over, the core clients of each month, the small/medium and dormant clients of each \
                half-year and S&T HQ's brokers and ≥ 10M clients of the year — each from a recorded population and seed. \
                The scheduler inside `huifang serve` does the same for the current month; this command back-fills.
                """)

        @Option(help: "The period: YYYY-MM, YYYY-H1, YYYY-H2 or YYYY.") var period: String
        @Option(help: "Generate as if today were this day (YYYY-MM-DD, Asia/Shanghai); default: today.") var today: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard let parsed = Period(period), parsed.kind != .day else {
                throw ValidationError("--period must be YYYY-MM, YYYY-H1, YYYY-H2 or YYYY, not \(period)")
            }
            if let today, PostgresDate(today) == nil { throw ValidationError("--today must be a date YYYY-MM-DD, not \(today)") }
        }

        func run() async throws {
            let period = Period(period)!
            let day = today.flatMap(PostgresDate.init) ?? PostgresDate.shanghai(Date())
            var logger = Logger(label: "huifang.obligations")
            logger.logLevel = .warning
            let lines = try await database.withDatabase(logger: logger) { environment in
                _ = try await environment.migrate(logger: logger)
                return try await Pool.withPool(environment.application, logger: logger) { pool in
                    do {
                        return try await pool.transaction(settings: ObligationGenerator.settings) {
                            try await ObligationGenerator($0).generate(period, today: day)
                        }
                    } catch let error as ObligationGenerator.GenerationError {
                        throw CLIError(error.description)
                    }
                }
            }
            print("rule                   draws  population   tasks  windows")
            for line in lines {
                print(
                    line.rule.padding(toLength: 22, withPad: " ", startingAt: 0)
                        + String(format: "%6d %11d %7d  ", line.draws, line.population, line.tasks)
                        + line.windows.joined(separator: ", "))
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show why a task exists: rule and version, period, population, seed, and the re-derived sample.")

        @Argument(help: "The task id.") var task: Int64
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            var logger = Logger(label: "huifang.obligations")
            logger.logLevel = .warning
            let explanation = try await database.withDatabase(logger: logger) { environment in
                try await Pool.withPool(environment.application, logger: logger) { pool in
                    try await pool.transaction(settings: ObligationGenerator.settings, readOnly: true) {
                        try await TaskExplanation.load($0, taskId: task, branches: nil)
                    }
                }
            }
            guard let explanation else { throw CLIError("there is no task \(task)") }
            explanation.lines.forEach { print($0) }
        }
    }
}
