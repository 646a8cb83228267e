import Foundation
import Postgres
import Server
import Store
import Testing
import TestSupport

@Suite("The obligation scheduler")
struct ObligationSchedulerTests {
    @Test func twoSchedulersAtOnceDrawEachWindowOnceAndALaterRoundAddsNothing() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            _ = try await database.withPool { pool in
                try await pool.query(
                    """
                    insert into huifang.clients (branch_id, client_no, name, id_type, id_number, opened_at)
                    select \(fixture.branchA), 'N' || n, '客户' || n, 'passport', 'E' || (1000000 + n), '2026-07-06 10:00+08'
                    from generate_series(1, 10) n
                    """)
            }
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
}
