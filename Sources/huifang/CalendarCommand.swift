import ArgumentParser
import Foundation
import Logging
import Postgres
import Store

struct CalendarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "The working-day calendars deadlines are counted in.",
        subcommands: [Status.self, Show.self, Load.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List each calendar's years: official (announced) or provisional (Monday–Friday).")

        @Option(help: "cn_workday or sse_trading; both when omitted.") var calendar: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if let calendar, !CalendarStore.calendars.contains(calendar) {
                throw ValidationError("unknown calendar \(calendar); known: \(CalendarStore.calendars.joined(separator: ", "))")
            }
        }

        func run() async throws {
            let years = try await withCalendarStore(database) { try await $0.years(calendar: calendar) }
            for (calendar, entries) in Dictionary(grouping: years, by: \.calendar).sorted(by: { $0.key < $1.key }) {
                print(calendar)
                for year in entries {
                    let state = year.isProvisional ? "provisional" : "official"
                    print("  \(year.year)  \(state.padding(toLength: 12, withPad: " ", startingAt: 0))  \(year.workdays) working days  \(year.source)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a year as month grids, holidays and make-up working days marked.")

        @Argument(help: "The year, e.g. 2026.") var year: Int
        @Option(help: "cn_workday or sse_trading.") var calendar = "cn_workday"
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard CalendarStore.calendars.contains(calendar) else {
                throw ValidationError("unknown calendar \(calendar); known: \(CalendarStore.calendars.joined(separator: ", "))")
            }
        }

        func run() async throws {
            let (days, years) = try await withCalendarStore(database) { store in
                (try await store.days(calendar: calendar, year: year), try await store.years(calendar: calendar))
            }
            guard !days.isEmpty else {
                let stored = years.map(\.year)
                throw CLIError(
                    "\(calendar) has no data for \(year); stored years: \(stored.first.map(String.init) ?? "none")–\(stored.last.map(String.init) ?? "none")")
            }
            let provisional = years.first { $0.year == year }?.isProvisional ?? false
            print("\(calendar) \(year)\(provisional ? "  (PROVISIONAL: Monday–Friday assumed, official schedule not loaded)" : "")")
            print(MonthGrid.legend)
            for month in 1...12 {
                print(MonthGrid.render(month: month, days: days.filter { $0.day.month == month }))
            }
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a year's official schedule (CSV: date,is_workday,note) and recompute the deadlines it moves.",
            discussion: """
                The file must list every day of one year. The year becomes official; every running SLA timer \
                whose counting passes through it is recomputed, in the same transaction, and one audit event \
                lists the changed days and the deadlines that moved.
                """)

        @Argument(help: "The CSV file.") var file: String
        @Option(help: "cn_workday or sse_trading.") var calendar = "cn_workday"
        @Option(help: "Where the schedule comes from (kept in the audit trail).") var source = "State Council announcement"
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard CalendarStore.calendars.contains(calendar) else {
                throw ValidationError("unknown calendar \(calendar); known: \(CalendarStore.calendars.joined(separator: ", "))")
            }
        }

        func run() async throws {
            let days: [CalendarLoad.Day]
            do {
                days = try CalendarLoad.parse(try CSVFile(contentsOf: URL(fileURLWithPath: file)))
            } catch let error as CalendarLoad.ScheduleError {
                throw CLIError("\(file):\n\(error)")
            }
            let years = Set(days.map(\.day.year))
            guard years.count == 1, let year = years.first else {
                throw CLIError("\(file) must hold the days of exactly one year; it has \(years.sorted())")
            }
            var logger = Logger(label: "huifang.calendar")
            logger.logLevel = .warning
            let result = try await database.withDatabase(logger: logger) { environment in
                _ = try await environment.migrate(logger: logger)
                return try await environment.withOwnerPool(logger: logger) { pool in
                    do {
                        return try await pool.transaction { connection in
                            try await CalendarLoad.load(calendar: calendar, year: year, days: days, source: source, on: connection)
                        }
                    } catch let error as PostgresError where error.sqlState == "22023" {
                        throw CLIError(error.message)
                    }
                }
            }
            print("\(calendar) \(year) is official now: \(result.changedDays) day(s) changed, \(result.movedDeadlines) running deadline(s) moved (audit event \(result.auditEventId))")
        }
    }
}

/// Opens the request-role pool (read-only use) and gives a clear error when the database was never migrated.
private func withCalendarStore<T: Sendable>(_ database: DatabaseOptions, _ body: (CalendarStore) async throws -> T) async throws -> T {
    var logger = Logger(label: "huifang.calendar")
    logger.logLevel = .warning
    return try await database.withDatabase(logger: logger) { environment in
        do {
            return try await Pool.withPool(environment.application, logger: logger) { try await body(CalendarStore(pool: $0)) }
        } catch let error as PostgresError where error.sqlState == "42P01" {
            throw CLIError("the database has no calendars yet: run `huifang migrate` first")
        }
    }
}
