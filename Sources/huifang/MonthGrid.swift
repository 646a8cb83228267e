import Postgres
import Store

/// A month as a Monday-first grid, with days off on weekdays and worked weekend days marked.
enum MonthGrid {
    static let legend = "[d] holiday on a weekday   (d) make-up working day on a weekend   other days as usual"

    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    static func render(month: Int, days: [CalendarStore.Day]) -> String {
        guard let first = days.first else { return "" }
        var lines = ["", "\(monthNames[month - 1])", " Mo   Tu   We   Th   Fr   Sa   Su"]
        var line = String(repeating: "     ", count: first.day.isoWeekday - 1)
        for day in days {
            line += cell(day) + " "
            if day.day.isoWeekday == 7 {
                lines.append(line)
                line = ""
            }
        }
        if !line.isEmpty { lines.append(line) }
        // One line per run of consecutive days with the same note: "2026-02-15 – 2026-02-23  Spring Festival".
        var notes: [String] = []
        var run: (first: PostgresDate, last: PostgresDate, note: String)?
        func flush() {
            guard let run else { return }
            let span = run.first == run.last ? "\(run.first)" : "\(run.first) – \(run.last)"
            notes.append("  \(span)  \(run.note)")
        }
        for day in days {
            if let note = day.note, let current = run, current.note == note, current.last.adding(days: 1) == day.day {
                run?.last = day.day
                continue
            }
            flush()
            run = day.note.map { (day.day, day.day, $0) }
        }
        flush()
        return (lines + notes).joined(separator: "\n")
    }

    private static func cell(_ day: CalendarStore.Day) -> String {
        let number = day.day.day < 10 ? " \(day.day.day)" : "\(day.day.day)"
        let weekend = day.day.isoWeekday >= 6
        switch (weekend, day.isWorkday) {
        case (false, false): return "[\(number)]"
        case (true, true): return "(\(number))"
        default: return " \(number) "
        }
    }
}
