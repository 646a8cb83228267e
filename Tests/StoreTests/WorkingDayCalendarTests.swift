import Foundation
import Postgres
import Testing
import TestSupport

@Suite("The working-day calendars and their SQL functions (BRIEF §3)")
struct WorkingDayCalendarTests {
    func withAppPool<T: Sendable>(_ body: (Pool) async throws -> T) async throws -> T {
        try await TestDatabase.with { database in
            try await database.withPool(database.application, size: 1) { try await body($0) }
        }
    }

    func date(_ sql: SQL, on pool: Pool) async throws -> String {
        try await pool.query(sql).single().decode(0, as: PostgresDate.self).description
    }

    @Test func nationalDay2026IsSkippedAndTheMakeUpSaturdayCounts() async throws {
        try await withAppPool { pool in
            for day in 1...7 {
                let off = try await pool.query("select huifang.is_workday('cn_workday', \(PostgresDate(year: 2026, month: 10, day: day)))")
                #expect(try off.single().decode(0, as: Bool.self) == false, "1–7 Oct 2026 are holidays")
            }
            #expect(try await pool.query("select huifang.is_workday('cn_workday', '2026-10-10')").single().decode(0, as: Bool.self))
            // A broker-introduced client opened Wed 30 Sep 2026: 5 working days → end of Tue 13 Oct.
            #expect(try await date("select huifang.add_workdays('cn_workday', '2026-09-30', 5)", on: pool) == "2026-10-13")
        }
    }

    @Test func makeUpWeekendsAreWorkdaysButNotTradingDays() async throws {
        try await withAppPool { pool in
            let row = try await pool.query(
                "select huifang.is_workday('cn_workday', '2026-01-04'), huifang.is_workday('sse_trading', '2026-01-04')"
            ).single()
            #expect(try row.decode(0, as: Bool.self) == true, "Sun 4 Jan 2026 is a make-up working day")
            #expect(try row.decode(1, as: Bool.self) == false, "but the exchanges are closed")
            // Spring Festival 2026: 15–23 Feb off, Sat 14 Feb and Sat 28 Feb worked.
            let spring = try await pool.query(
                "select count(*) filter (where is_workday) from huifang.calendar_days where calendar = 'cn_workday' and day between '2026-02-15' and '2026-02-23'"
            ).single()
            #expect(try spring.decode(0, as: Int.self) == 0)
            #expect(try await pool.query("select huifang.is_workday('cn_workday', '2026-02-28')").single().decode(0, as: Bool.self))
        }
    }

    @Test func deadlinesEndAtMidnightShanghaiAfterTheLastWorkingDay() async throws {
        try await withAppPool { pool in
            // A forwarding received Wed 30 Sep 2026 16:00 must be answered by the end of Fri 9 Oct.
            let answer = try await pool.query(
                "select huifang.workday_deadline('cn_workday', '2026-09-30 16:00+08', 2) = '2026-10-10 00:00+08'"
            ).single()
            #expect(try answer.decode(0, as: Bool.self))
            // A problem raised Tue 29 Sep 2026: 15 working days → end of Mon 26 Oct.
            let loop = try await pool.query(
                "select huifang.workday_deadline('cn_workday', '2026-09-29 10:00+08', 15) = '2026-10-27 00:00+08'"
            ).single()
            #expect(try loop.decode(0, as: Bool.self))
            // Uploads: September's by the end of Tue 20 Oct, October's by the end of Fri 13 Nov.
            #expect(try await date("select huifang.add_workdays('cn_workday', '2026-09-30', 10)", on: pool) == "2026-10-20")
            #expect(try await date("select huifang.add_workdays('cn_workday', '2026-10-31', 10)", on: pool) == "2026-11-13")
        }
    }

    @Test func countingFromAHolidayAndAcrossAYearBoundary() async throws {
        try await withAppPool { pool in
            // Sat 3 Oct is a holiday: day 1 (and the n = 0 day) is Thu 8 Oct, the first worked day.
            #expect(try await date("select huifang.add_workdays('cn_workday', '2026-10-03', 0)", on: pool) == "2026-10-08")
            #expect(try await date("select huifang.add_workdays('cn_workday', '2026-10-03', 1)", on: pool) == "2026-10-08")
            #expect(try await date("select huifang.add_workdays('cn_workday', '2026-10-09', 0)", on: pool) == "2026-10-09")
            // Wed 31 Dec 2025 → Thu 1 Jan 2026 is New Year's Day (1–3 Jan off), Sun 4 Jan is worked.
            #expect(try await date("select huifang.add_workdays('cn_workday', '2025-12-31', 1)", on: pool) == "2026-01-04")
            let between = try await pool.query(
                "select huifang.workdays_between('cn_workday', '2026-09-30', '2026-10-13'), huifang.workdays_between('cn_workday', '2026-10-13', '2026-09-30')"
            ).single()
            #expect(try between.decode(0, as: Int.self) == 5)
            #expect(try between.decode(1, as: Int.self) == -5)
        }
    }

    @Test func yearsAheadAreProvisionalAndSaySo() async throws {
        try await withAppPool { pool in
            let row = try await pool.query(
                """
                select huifang.calendar_is_provisional('cn_workday', '2026-12-20', '2027-01-10'),
                       huifang.calendar_is_provisional('cn_workday', '2026-01-01', '2026-12-31'),
                       (select status from huifang.calendar_years where calendar = 'cn_workday' and year = 2027)
                """
            ).single()
            #expect(try row.decode(0, as: Bool.self) == true)
            #expect(try row.decode(1, as: Bool.self) == false)
            #expect(try row.decode(2, as: String.self) == "provisional")
        }
    }

    @Test func everyDateUpTo2100IsAnsweredAndAClockEndingAfter2030IsStored() async throws {
        try await withAppPool { pool in
            let row = try await pool.query(
                """
                select huifang.is_workday('cn_workday', '2100-12-31'), huifang.is_workday('sse_trading', '2100-12-25'),
                       huifang.add_workdays('cn_workday', '2030-12-30', 10),
                       huifang.workdays_between('cn_workday', '2030-12-31', '2031-01-31'),
                       huifang.workday_deadline('cn_workday', '2099-12-30 10:00+08', 1) at time zone 'Asia/Shanghai',
                       huifang.calendar_is_provisional('cn_workday', '2031-01-01', '2100-12-31')
                """
            ).single()
            #expect(try row.decode(0, as: Bool.self) == true)  // Fri 31 Dec 2100: provisional, Monday to Friday
            #expect(try row.decode(1, as: Bool.self) == false)  // Sat 25 Dec 2100
            #expect(try row.decode(2, as: PostgresDate.self).description == "2031-01-13")  // Mon 30 Dec 2030 + 10
            #expect(try row.decode(3, as: Int.self) == 23)  // the weekdays of January 2031
            #expect(try row.decode(4, as: String.self).hasPrefix("2100-01-01 00:00:00"))  // end of Thu 31 Dec 2099
            #expect(try row.decode(5, as: Bool.self) == true)
        }
        // The clock of a task opened on 27 Dec 2030 escalates in January 2031: stored, flagged provisional.
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let fixture = try await OrganizationFixture.load(into: pool)
                let timer = try await pool.query(
                    """
                    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title)
                    values (\(fixture.branchA), 'client', \(fixture.clientA), 'escalates_in_2031', '2030-12-27 10:00+08', 5, 'x')
                    returning (due_at at time zone 'Asia/Shanghai')::text, provisional
                    """
                ).single()
                #expect(try timer.decode(0, as: String.self).hasPrefix("2031-01-04 00:00:00"))  // end of Fri 3 Jan 2031
                #expect(try timer.decode(1, as: Bool.self))
            }
        }
    }

    @Test func badInputsRaiseClearErrorsNeverWrongAnswers() async throws {
        try await withAppPool { pool in
            let unknown = try await #require(throws: PostgresError.self) {
                try await pool.query("select huifang.is_workday('nope', '2026-01-05')")
            }
            #expect(unknown.sqlState == "22023")
            #expect(unknown.message.contains("unknown calendar"))
            let outside = try await #require(throws: PostgresError.self) {
                try await pool.query("select huifang.add_workdays('cn_workday', '2003-12-31', 1)")
            }
            #expect(outside.message.contains("outside the stored range"))
            let negative = try await #require(throws: PostgresError.self) {
                try await pool.query("select huifang.add_workdays('cn_workday', '2026-01-05', -1)")
            }
            #expect(negative.sqlState == "22023")
        }
    }

    @Test func theRequestRoleCanReadButNotRewriteTheCalendar() async throws {
        try await withAppPool { pool in
            let error = try await #require(throws: PostgresError.self) {
                try await pool.query("update huifang.calendar_days set is_workday = true where day = '2026-10-01'")
            }
            #expect(error.sqlState == "42501")
        }
    }
}
