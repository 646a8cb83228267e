import Foundation
import Postgres

extension PostgresDate {
    /// The Asia/Shanghai (UTC+8, no daylight saving) calendar date of an instant: the date every
    /// deadline is counted from (BRIEF §3).
    public static func shanghai(_ instant: Date) -> PostgresDate {
        let days = ((instant.timeIntervalSince1970 + 8 * 3600) / 86400).rounded(.down)
        return PostgresDate(daysSinceEpoch: Int64(days))
    }
}

extension Date {
    /// The instant as a wall-clock time in Asia/Shanghai, e.g. `2026-10-21 00:00` (`seconds`: `:00`),
    /// as reports and printed records show it.
    public func shanghaiText(seconds: Bool = false) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = seconds ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm"
        return formatter.string(from: self)
    }
}

extension PostgresDate {
    /// The instant this date begins in Asia/Shanghai (its midnight, 16:00 UTC the day before).
    public var shanghaiMidnight: Date {
        Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86400 - 8 * 3600)
    }

    /// The first and the next month's first instants, in Shanghai, of `month` (YYYY-MM); nil when
    /// it is not a month.
    public static func shanghaiMonth(_ month: String) -> (start: Date, end: Date)? {
        guard let first = PostgresDate(month + "-01"), first.isValid else { return nil }
        let next = first.month == 12
            ? PostgresDate(year: first.year + 1, month: 1, day: 1) : PostgresDate(year: first.year, month: first.month + 1, day: 1)
        return (first.shanghaiMidnight, next.shanghaiMidnight)
    }
}
