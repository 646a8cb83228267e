/// A `date`: a calendar day with no time zone.
public struct PostgresDate: Sendable, Hashable, Comparable, CustomStringConvertible, PostgresEncodable, PostgresDecodable,
    PostgresArrayElement
{
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`; `nil` for anything else, including impossible days.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        let candidate = PostgresDate(year: year, month: month, day: day)
        guard candidate.isValid else { return nil }
        self = candidate
    }

    public init(postgresText text: String) throws {
        guard let date = PostgresDate(text) else { throw decodingError(text, as: PostgresDate.self) }
        self = date
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int64 { CivilDays.days(year: year, month: month, day: day) }

    public init(daysSinceEpoch: Int64) {
        let civil = CivilDays.civil(fromDays: daysSinceEpoch)
        self.init(year: civil.year, month: civil.month, day: civil.day)
    }

    public func adding(days: Int) -> PostgresDate {
        PostgresDate(daysSinceEpoch: daysSinceEpoch + Int64(days))
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        let weekday = Int((daysSinceEpoch + 3) % 7)  // 1970-01-01 was a Thursday
        return (weekday < 0 ? weekday + 7 : weekday) + 1
    }

    public var isValid: Bool {
        (1...12).contains(month) && day >= 1 && PostgresDate(daysSinceEpoch: daysSinceEpoch) == self
    }

    public var description: String {
        let y = String(year), m = String(month), d = String(day)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count < 2 ? "0" : "") + m + "-"
            + (d.count < 2 ? "0" : "") + d
    }

    public var postgresText: String? { description }

    public static func < (lhs: PostgresDate, rhs: PostgresDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}
