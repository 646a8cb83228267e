import Domain
import Foundation

/// Instants as people in the branches read them: Asia/Shanghai, to the minute.
enum ShanghaiTime {
    static let zone = TimeZone(identifier: "Asia/Shanghai")!
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }()

    static func minute(_ date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!)
    }

    static func day(_ date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    /// `YYYY-MM` of the month `offset` months from the one `date` falls in.
    static func month(_ date: Date, offset: Int = 0) -> String {
        let shifted = calendar.date(byAdding: .month, value: offset, to: date) ?? date
        let c = calendar.dateComponents([.year, .month], from: shifted)
        return String(format: "%04d-%02d", c.year!, c.month!)
    }

    /// What a `datetime-local` input sends (`2026-11-30T14:05`), read in Shanghai time, as RFC 3339.
    static func rfc3339(fromLocalInput text: String) -> String? {
        guard Patterns.matches(text, #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$"#) else { return nil }
        return (text.count == 16 ? text + ":00" : text) + "+08:00"
    }

    /// The `datetime-local` value of an instant.
    static func localInput(_ date: Date) -> String {
        minute(date).replacingOccurrences(of: " ", with: "T")
    }
}
