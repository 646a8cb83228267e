import Foundation
import Postgres
import Store
import Testing
import TestSupport

@Suite("Loading an official year recomputes the deadlines that depend on it")
struct CalendarLoadTests {
    /// 2027 as announced in this test: Mon–Fri, minus New Year's Day and a Spring Festival week, plus
    /// the two weekend days worked in its place (调休).
    static func schedule2027(skipping: PostgresDate? = nil) -> [CalendarLoad.Day] {
        var days: [CalendarLoad.Day] = []
        var day = PostgresDate(year: 2027, month: 1, day: 1)
        let holidays: Set<String> = ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"]
        let madeUp: Set<String> = ["2027-02-07", "2027-02-20"]
        while day.year == 2027 {
            if day != skipping {
                let holiday = holidays.contains(day.description)
                let worked = madeUp.contains(day.description)
                days.append(.init(
                    day: day, isWorkday: (day.isoWeekday < 6 && !holiday) || worked,
                    note: holiday ? "假日" : worked ? "调休" : nil))
            }
            day = day.adding(days: 1)
        }
        return days
    }

    @Test func aProvisionalDeadlineMovesAndTheMoveIsAudited() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let branch: Int = try await pool.query(
                    "insert into huifang.branches (code, name, region) values ('BJ001', '北京', '华北') returning id").single().decode(0)
                let subject = TimerSubject(branchId: branch, kind: "problem", id: 9, clock: "problem_loop")
                // Thu 24 Dec 2026: five working days left in 2026, ten more in 2027.
                let started = try await pool.transaction {
                    try await Timers($0).start(
                        subject, startedAt: ISO8601DateFormatter().date(from: "2026-12-24T10:00:00+08:00")!, workdays: 15,
                        title: "Problem 9", notify: [])
                }
                #expect(started.provisional)
                #expect(started.dueAt == ISO8601DateFormatter().date(from: "2027-01-15T00:00:00+08:00"))
                // A stopped clock is not recomputed.
                try await pool.transaction { db in
                    let other = TimerSubject(branchId: branch, kind: "problem", id: 10, clock: "problem_loop")
                    try await Timers(db).start(
                        other, startedAt: ISO8601DateFormatter().date(from: "2026-12-24T10:00:00+08:00")!, workdays: 15, title: "P10",
                        notify: [])
                    try await Timers(db).stop(other, reason: "answered")
                    // Stopped on Fri 8 Jan 2027: Dec 25, 28–31 and, while 2027 is provisional, Jan 1, 4–8.
                    try await db.query("update huifang.timers set stopped_at = '2027-01-08 10:00+08' where subject_id = 10")
                }
                #expect(try await pool.query("select stopped_workdays from huifang.timers where subject_id = 10").single().decode(0, as: Int.self) == 11)

                let result = try await pool.transaction {
                    try await CalendarLoad.load(calendar: "cn_workday", year: 2027, days: Self.schedule2027(), source: "test notice", on: $0)
                }
                #expect(result.changedDays == 8)
                // New Year's Day is a holiday after all: the stopped clock ran 10 working days, not 11.
                #expect(try await pool.query("select stopped_workdays from huifang.timers where subject_id = 10").single().decode(0, as: Int.self) == 10)
                #expect(result.movedDeadlines == 1)
                let row = try await pool.query(
                    "select due_at, provisional from huifang.timers where subject_id = 9").single()
                #expect(try row.decode(0, as: Date.self) == ISO8601DateFormatter().date(from: "2027-01-16T00:00:00+08:00"))
                #expect(try row.decode(1, as: Bool.self) == false)
                let audit = try await pool.query(
                    """
                    select detail->'moved_deadlines'->0->>'old_due', detail->'moved_deadlines'->0->>'timer_id', reason
                    from huifang.audit_events where id = \(result.auditEventId)
                    """
                ).single()
                #expect(try audit.decode(0, as: String.self).hasPrefix("2027-01-14T16:00:00"))
                #expect(try audit.decode(1, as: String.self) == String(started.id))
                #expect(try audit.decode(2, as: String.self) == "test notice")
                let status: String = try await pool.query(
                    "select status from huifang.calendar_years where calendar = 'cn_workday' and year = 2027").single().decode(0)
                #expect(status == "official")
            }
        }
    }

    @Test func ordinalsStayConsistentAcrossTheLoadedYear() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                try await pool.transaction {
                    _ = try await CalendarLoad.load(calendar: "cn_workday", year: 2027, days: Self.schedule2027(), source: "t", on: $0)
                }
                // add_workdays by ordinal agrees with counting working days one by one, into 2028 too.
                let disagreements: Int = try await pool.query(
                    """
                    with days as (
                        select day, is_workday from huifang.calendar_days
                        where calendar = 'cn_workday' and day between '2026-12-01' and '2028-01-31'
                    )
                    select count(*) from days d
                    where huifang.add_workdays('cn_workday', d.day, 7) <> (
                        select w.day from days w where w.day > d.day and w.is_workday order by w.day offset 6 limit 1)
                      and d.day < '2028-01-15'
                    """
                ).single().decode(0)
                #expect(disagreements == 0)
                // Counting agrees too, from before the year to the end of the stored range.
                let counts = try await pool.query(
                    """
                    select huifang.workdays_between('cn_workday', '2026-12-31', '2100-12-31'),
                           (select count(*)::int from huifang.calendar_days
                            where calendar = 'cn_workday' and is_workday and day > '2026-12-31'),
                           huifang.add_workdays('cn_workday', '2027-02-05', 1), huifang.add_workdays('cn_workday', '2027-02-19', 1)
                    """
                ).single()
                #expect(try counts.decode(0, as: Int.self) == counts.decode(1, as: Int.self))
                #expect(try counts.decode(2, as: PostgresDate.self).description == "2027-02-07", "the make-up Sunday works")
                #expect(try counts.decode(3, as: PostgresDate.self).description == "2027-02-20", "the make-up Saturday works")
                let newYear: Bool = try await pool.query("select huifang.is_workday('cn_workday', '2027-01-01')").single().decode(0)
                #expect(newYear == false)
            }
        }
    }

    @Test func anIncompleteYearIsRefusedAndChangesNothing() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let error = await #expect(throws: PostgresError.self) {
                    try await pool.transaction {
                        try await CalendarLoad.load(
                            calendar: "cn_workday", year: 2027, days: Self.schedule2027(skipping: PostgresDate(year: 2027, month: 3, day: 3)),
                            source: "t", on: $0)
                    }
                }
                #expect(error?.sqlState == "22023")
                #expect(error?.message.contains("every day") == true)
                let status: String = try await pool.query(
                    "select status from huifang.calendar_years where calendar = 'cn_workday' and year = 2027").single().decode(0)
                #expect(status == "provisional")
            }
        }
    }

    @Test func onlyAnAdminRequestMayLoad() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(database.application) { pool in
                let error = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(settings: [("huifang.staff_id", "1")]) {
                        try await CalendarLoad.load(calendar: "cn_workday", year: 2027, days: Self.schedule2027(), source: "t", on: $0)
                    }
                }
                #expect(error?.sqlState == "42501")
            }
        }
    }

    @Test func theScheduleFileIsCheckedLineByLine() throws {
        let file = try CSVFile(data: Data("date,is_workday,note\n2027-01-01,false,元旦\n2027-01-02,maybe,\n2027-13-01,true,\n".utf8))
        #expect(throws: CalendarLoad.ScheduleError(problems: [
            "line 3, column is_workday: must be true or false", "line 4, column date: must be a date like 2027-01-01",
        ])) { try CalendarLoad.parse(file) }
    }
}
