import Foundation
import Postgres

/// Reads the working-day calendars (`huifang.calendar_*`, loaded by migration 0002).
public struct CalendarStore: Sendable {
    public struct Year: Sendable, Equatable {
        public var calendar: String
        public var year: Int
        public var isProvisional: Bool
        public var source: String
        public var workdays: Int
    }

    public struct Day: Sendable, Equatable {
        public var day: PostgresDate
        public var isWorkday: Bool
        public var note: String?
    }

    let pool: Pool

    public init(pool: Pool) {
        self.pool = pool
    }

    public static let calendars = ["cn_workday", "sse_trading"]

    /// Working days after `now`'s day (Asia/Shanghai) up to the day a deadline at `column` ends
    /// (a deadline is 00:00 of the day after its last working day); negative once past. The one
    /// spelling of "剩余 N 个工作日" for clocks, tasks and the console.
    static func workdaysLeft(until column: String, now: Date) -> SQL {
        """
        huifang.workdays_between('cn_workday', (\(now)::timestamptz at time zone 'Asia/Shanghai')::date,
                                 (\(unescaped: column) at time zone 'Asia/Shanghai')::date - 1)
        """
    }

    /// Working days left until each deadline (see `workdaysLeft(until:now:)`); a deadline the stored
    /// calendar does not reach is left out.
    public func workdaysLeft(until deadlines: [Date], now: Date) async throws -> [Date: Int] {
        let distinct = Array(Set(deadlines))
        guard !distinct.isEmpty else { return [:] }
        let texts = distinct.map(\.postgresText)
        let rows = try await pool.read(
            """
            select d.ordinality::int, \(Self.workdaysLeft(until: "d.due", now: now))
            from unnest(\(texts)::timestamptz[]) with ordinality as d(due, ordinality)
            where (d.due at time zone 'Asia/Shanghai')::date - 1 between
                  (select min(day) from huifang.calendar_days where calendar = 'cn_workday')
                  and (select max(day) from huifang.calendar_days where calendar = 'cn_workday')
            """)
        var left: [Date: Int] = [:]
        for row in rows {
            let ordinality: Int = try row.decode(0)
            left[distinct[ordinality - 1]] = try row.decode(1)
        }
        return left
    }

    /// Every stored year of every calendar (or of one), with its working-day count.
    public func years(calendar: String? = nil) async throws -> [Year] {
        try await pool.read(
            """
            select y.calendar, y.year, y.status = 'provisional', y.source,
                   (select count(*) from huifang.calendar_days d
                    where d.calendar = y.calendar and d.is_workday
                      and d.day >= make_date(y.year, 1, 1) and d.day < make_date(y.year + 1, 1, 1))::int
            from huifang.calendar_years y
            where \(calendar)::text is null or y.calendar = \(calendar)
            order by y.calendar, y.year
            """
        ).map { row in
            Year(calendar: try row.decode(0), year: try row.decode(1), isProvisional: try row.decode(2),
                 source: try row.decode(3), workdays: try row.decode(4))
        }
    }

    /// The days of one year, in order; empty when the year is not stored.
    public func days(calendar: String, year: Int) async throws -> [Day] {
        try await pool.read(
            """
            select day, is_workday, note from huifang.calendar_days
            where calendar = \(calendar) and day >= make_date(\(year), 1, 1) and day < make_date(\(year) + 1, 1, 1)
            order by day
            """
        ).map { row in Day(day: try row.decode(0), isWorkday: try row.decode(1), note: try row.decode(2)) }
    }

    /// Provisional years of `calendar` that the `horizon` days from `today` (Asia/Shanghai) touch.
    public func provisionalYears(calendar: String, horizonDays: Int, now: Date = Date()) async throws -> [Int] {
        try await pool.read(
            """
            select year from huifang.calendar_years
            where calendar = \(calendar) and status = 'provisional'
              and year between extract(year from (\(now)::timestamptz at time zone 'Asia/Shanghai'))
                           and extract(year from (\(now)::timestamptz at time zone 'Asia/Shanghai') + make_interval(days => \(horizonDays)))
            order by year
            """
        ).map { try $0.decode(0, as: Int.self) }
    }
}
