/// A regulation period, by label: a month `2026-11`, a half-year `2026-H2`, a year `2026`, or an
/// opening day `2026-11-05`. Ranges are half-open in calendar days, [start, end).
public struct Period: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case day, month, halfYear = "half_year", year }

    public let kind: Kind
    public let year: Int
    /// Month for day and month periods, half (1 or 2) for half-years, 1 for years.
    public let index: Int
    public let day: Int

    public init?(_ label: String) {
        let parts = label.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, first.count == 4, let year = Int(first), year >= 2000, year <= 2200 else { return nil }
        switch parts.count {
        case 1:
            self.init(kind: .year, year: year, index: 1)
        case 2 where parts[1] == "H1" || parts[1] == "H2":
            self.init(kind: .halfYear, year: year, index: parts[1] == "H1" ? 1 : 2)
        case 2 where parts[1].count == 2:
            guard let month = Int(parts[1]), (1...12).contains(month) else { return nil }
            self.init(kind: .month, year: year, index: month)
        case 3 where parts[1].count == 2 && parts[2].count == 2:
            guard let month = Int(parts[1]), (1...12).contains(month), let day = Int(parts[2]),
                day >= 1, day <= Self.days(inMonth: month, of: year)
            else { return nil }
            self.init(kind: .day, year: year, index: month, day: day)
        default:
            return nil
        }
    }

    public init(kind: Kind, year: Int, index: Int, day: Int = 1) {
        self.kind = kind
        self.year = year
        self.index = index
        self.day = day
    }

    public static func month(_ year: Int, _ month: Int) -> Period { Period(kind: .month, year: year, index: month) }

    public var description: String {
        switch kind {
        case .year: String(year)
        case .halfYear: "\(year)-H\(index)"
        case .month: "\(year)-\(Self.two(index))"
        case .day: "\(year)-\(Self.two(index))-\(Self.two(day))"
        }
    }

    /// First day, as (year, month, day).
    public var start: (year: Int, month: Int, day: Int) {
        switch kind {
        case .year: (year, 1, 1)
        case .halfYear: (year, index == 1 ? 1 : 7, 1)
        case .month: (year, index, 1)
        case .day: (year, index, day)
        }
    }

    /// The day after the last day, as (year, month, day).
    public var end: (year: Int, month: Int, day: Int) {
        switch kind {
        case .year: (year + 1, 1, 1)
        case .halfYear: index == 1 ? (year, 7, 1) : (year + 1, 1, 1)
        case .month: index == 12 ? (year + 1, 1, 1) : (year, index + 1, 1)
        case .day:
            day < Self.days(inMonth: index, of: year)
                ? (year, index, day + 1) : (index == 12 ? (year + 1, 1, 1) : (year, index + 1, 1))
        }
    }

    /// The months a period spans (a month spans itself).
    public var months: [Period] {
        switch kind {
        case .year: (1...12).map { .month(year, $0) }
        case .halfYear: (index == 1 ? 1...6 : 7...12).map { .month(year, $0) }
        case .month, .day: [.month(year, index)]
        }
    }

    /// The half-year and the year a month lies in.
    public var halfYear: Period { Period(kind: .halfYear, year: year, index: (start.month - 1) / 6 + 1) }
    public var wholeYear: Period { Period(kind: .year, year: year, index: 1) }

    public static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
}
