import Foundation
import Postgres

/// Loading a year's official schedule (`huifang.load_calendar_year`), from CSV or the API.
public enum CalendarLoad {
    public struct Day: Sendable, Equatable {
        public var day: PostgresDate
        public var isWorkday: Bool
        public var note: String?

        public init(day: PostgresDate, isWorkday: Bool, note: String?) {
            self.day = day
            self.isWorkday = isWorkday
            self.note = note
        }
    }

    public struct Result: Sendable, Equatable {
        public var changedDays: Int
        public var movedDeadlines: Int
        public var auditEventId: Int64
    }

    public struct ScheduleError: Error, CustomStringConvertible, Equatable {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
        public init(problems: [String]) {
            self.problems = problems
        }
    }

    /// `date,is_workday,note` rows (header required); `is_workday` is true/false, t/f, 1/0 or yes/no.
    public static func parse(_ file: CSVFile) throws -> [Day] {
        let header = file.header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard header.count >= 2, header[0] == "date", header[1] == "is_workday", header.count == 2 || header[2] == "note" else {
            throw ScheduleError(problems: ["the header must be date,is_workday,note"])
        }
        var days: [Day] = []
        var problems = file.structureErrors.map { "line \($0.line): \($0.reason)" }
        for record in file.records {
            let fields = file.fields(of: record).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let day = PostgresDate(fields[0]), fields[0].count == 10 else {
                problems.append("line \(record.line), column date: must be a date like 2027-01-01")
                continue
            }
            let flag: Bool
            switch fields[1].lowercased() {
            case "true", "t", "1", "yes", "y": flag = true
            case "false", "f", "0", "no", "n": flag = false
            default:
                problems.append("line \(record.line), column is_workday: must be true or false")
                continue
            }
            let note = fields.count > 2 && !fields[2].isEmpty ? fields[2] : nil
            days.append(Day(day: day, isWorkday: flag, note: note))
        }
        guard problems.isEmpty else { throw ScheduleError(problems: problems) }
        return days
    }

    /// Loads the schedule of `year` in the connection's transaction (an admin scope, or the owner).
    public static func load(
        calendar: String, year: Int, days: [Day], source: String, on connection: Connection
    ) async throws -> Result {
        let dates = days.map { $0.day.description }
        let flags = days.map(\.isWorkday)
        let notes = days.map { $0.note ?? "" }
        let row = try await connection.query(
            """
            select * from huifang.load_calendar_year(\(calendar), \(year), \(dates)::date[], \(flags), \(notes), \(source))
            """
        ).single()
        return Result(changedDays: try row.decode(0), movedDeadlines: try row.decode(1), auditEventId: try row.decode(2))
    }
}
