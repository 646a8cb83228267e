import Foundation
import Postgres
import Server
import Store
import Testing
import TestSupport

@Suite("The obligation scheduler")
struct ObligationSchedulerTests {
    /// Ten ordinary accounts opened on Monday 6 July 2026 in `branch`: three are drawn (30 %).
    static func openTenOrdinaryAccounts(_ database: TestDatabase, branch: Int) async throws {
        _ = try await database.withPool { pool in
            try await pool.query(
                """
                insert into huifang.clients (branch_id, client_no, name, id_type, id_number, opened_at)
                select \(branch), 'N' || n, '客户' || n, 'passport', 'E' || (1000000 + n), '2026-07-06 10:00+08'
                from generate_series(1, 10) n
                """)
        }
    }

    @Test func twoSchedulersAtOnceDrawEachWindowOnceAndALaterRoundAddsNothing() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await ObligationSchedulerTests.openTenOrdinaryAccounts(database, branch: fixture.branchA)
            try await database.withPool(database.application) { pool in
                let today = PostgresDate("2026-07-20")!
                async let first = ObligationSchedulerService.generateCurrent(pool: pool, today: today)
                async let second = ObligationSchedulerService.generateCurrent(pool: pool, today: today)
                let rounds = try await [first, second]
                let created = rounds.map { $0.reduce(0) { $0 + $1.tasks } }
                #expect(created.min() == 0, "the second round finds the lock taken or nothing left: \(created)")
                let later = try await ObligationSchedulerService.generateCurrent(pool: pool, today: today)
                #expect(later.reduce(0) { $0 + $1.tasks } == 0)
            }
            let counts = try await database.withPool { pool in
                try await pool.query(
                    """
                    select (select count(*)::int from huifang.obligation_draws where rule_code = 'new_account_ordinary'),
                           (select count(*)::int from huifang.callback_tasks where rule_code = 'new_account_ordinary')
                    """
                ).single()
            }
            #expect(try counts.decode(0, as: Int.self) == 1)
            #expect(try counts.decode(1, as: Int.self) == 3)  // ⌈0.3 × 10⌉
        }
    }

    /// Ordinary accounts opened on every kind of day around a month's end (Mon 30 Nov 2026), a year's
    /// (Thu 31 Dec 2026, then New Year's Day and a weekend on 2027's provisional calendar) and
    /// January's, and the scheduler's rounds alone — one of them twice, two after a week down. Each
    /// opening day is drawn once, by the first round after it is over, never before.
    @Test func everyOrdinaryOpeningDayIsDrawnOnceAcrossAMonthEndAYearEndAndAWeekDown() async throws {
        let days = [
            "2026-11-27", "2026-11-30", "2026-12-01", "2026-12-18", "2026-12-24", "2026-12-28", "2026-12-31", "2027-01-01",
            "2027-01-03", "2027-01-04", "2027-01-26", "2027-01-27", "2027-01-29", "2027-01-31", "2027-02-03",
        ]
        // The day the scheduler runs, and the opening days it newly draws.
        let rounds: [(today: String, drawn: [String])] = [
            ("2026-11-30", ["2026-11-27"]),  // the 30th is not over
            ("2026-12-01", ["2026-11-30"]),  // the month's last day, on the first of the next
            ("2026-12-01", []),  // a second round the same day adds nothing
            ("2026-12-24", ["2026-12-01", "2026-12-18"]),
            ("2026-12-31", ["2026-12-24", "2026-12-28"]),  // a week down within the month
            ("2027-01-04", ["2026-12-31", "2027-01-01", "2027-01-03"]),  // the year's last day, New Year's Day, a Sunday
            ("2027-01-27", ["2027-01-04", "2027-01-26"]),
            ("2027-02-03", ["2027-01-27", "2027-01-29", "2027-01-31"]),  // a week down across January's end
        ]
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                // Four ordinary accounts a day in branch A, one in branch B, and a broker's client that is never sampled.
                for (index, day) in days.enumerated() {
                    for (branch, count) in [(fixture.branchA, 4), (fixture.branchB, 1)] {
                        try await pool.query(
                            """
                            insert into huifang.clients (branch_id, client_no, name, id_type, id_number, opened_at)
                            select \(branch), 'N' || \(index) || '-' || n, '客户' || n, 'passport', 'E' || (1000000 + 100 * \(index) + n),
                                   (\(day) || ' 23:30+08')::timestamptz
                            from generate_series(1, \(count)) n
                            """)
                    }
                    try await pool.query(
                        """
                        insert into huifang.clients (branch_id, client_no, name, id_type, id_number, opened_at, referrer_broker_id)
                        values (\(fixture.branchA), \("B\(index)"), '经纪客户', 'passport', \("F\(9_000_000 + index)"), (\(day) || ' 09:00+08')::timestamptz,
                                \(fixture.brokerA))
                        """)
                }
            }
            var expected: [String] = []
            for round in rounds {
                expected += round.drawn
                try await database.withPool(database.application) { pool in
                    _ = try await ObligationSchedulerService.generateCurrent(pool: pool, today: PostgresDate(round.today)!)
                }
                let draws = try await database.withPool { pool in
                    try await pool.query(
                        """
                        select sample_window, count(*)::int, max(draw_no), sum(required)::int, sum(population_size)::int,
                               (select count(*)::int from huifang.callback_tasks t
                                where t.rule_code = 'new_account_ordinary' and t.sample_window = d.sample_window)
                        from huifang.obligation_draws d where rule_code = 'new_account_ordinary'
                        group by sample_window order by sample_window
                        """
                    ).map { row in
                        "\(try row.decode(0, as: String.self)): \(try row.decode(1, as: Int.self)) draws, last \(try row.decode(2, as: Int.self)), "
                            + "\(try row.decode(3, as: Int.self)) of \(try row.decode(4, as: Int.self)), \(try row.decode(5, as: Int.self)) tasks"
                    }
                }
                // Each day: branch A ⌈0.3 × 4⌉ = 2 of 4, branch B ⌈0.3 × 1⌉ = 1 of 1 — one draw each.
                #expect(draws == expected.map { "\($0): 2 draws, last 1, 3 of 5, 3 tasks" }, "after the round of \(round.today)")
            }
        }
    }
}
