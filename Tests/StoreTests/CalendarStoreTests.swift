import Foundation
import Postgres
import Store
import Testing
import TestSupport

@Suite("Reading the calendars: years, days and provisional horizons")
struct CalendarStoreTests {
    @Test func yearsSayWhichAreOfficial() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(database.application, size: 1) { pool in
                let years = try await CalendarStore(pool: pool).years(calendar: "cn_workday")
                #expect(years.first?.year == 2004)
                #expect(years.last?.year == 2100)
                #expect(years.first { $0.year == 2100 }?.isProvisional == true)
                let y2026 = try #require(years.first { $0.year == 2026 })
                #expect(!y2026.isProvisional)
                #expect(y2026.workdays == 248)
                #expect(years.first { $0.year == 2027 }?.isProvisional == true)
                let trading = try await CalendarStore(pool: pool).years(calendar: "sse_trading")
                #expect(trading.first { $0.year == 2026 }?.workdays == 242, "make-up weekends are not trading days")
            }
        }
    }

    @Test func daysOfAYearCarryTheirNotes() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(database.application, size: 1) { pool in
                let days = try await CalendarStore(pool: pool).days(calendar: "cn_workday", year: 2026)
                #expect(days.count == 365)
                let national = try #require(days.first { $0.day == PostgresDate(year: 2026, month: 10, day: 1) })
                #expect(!national.isWorkday)
                #expect(national.note?.contains("国庆节") == true)
                #expect(try await CalendarStore(pool: pool).days(calendar: "cn_workday", year: 2040).count == 366)
                #expect(try await CalendarStore(pool: pool).days(calendar: "cn_workday", year: 2101).isEmpty)
            }
        }
    }

    @Test func provisionalYearsWithinTheHorizon() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(database.application, size: 1) { pool in
                let store = CalendarStore(pool: pool)
                // 31 Dec 2026 20:00 UTC is already 1 Jan 2027 in Shanghai.
                let newYearsEveUTC = Date(timeIntervalSince1970: 1_798_747_200)
                let atNewYear = try await store.provisionalYears(calendar: "cn_workday", horizonDays: 0, now: newYearsEveUTC)
                #expect(atNewYear == [2027])
                let midsummer = Date(timeIntervalSince1970: 1_782_864_000)
                let nearby = try await store.provisionalYears(calendar: "cn_workday", horizonDays: 60, now: midsummer)
                #expect(nearby.isEmpty)
                let farther = try await store.provisionalYears(calendar: "cn_workday", horizonDays: 200, now: midsummer)
                #expect(farther == [2027])
            }
        }
    }
}
