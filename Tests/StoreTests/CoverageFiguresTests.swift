import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// Coverage worked out by hand on one branch and month (July 2026, read on 10 Aug), one rule at a
/// time, every outcome a task can have. Each figure's arithmetic is in the comment beside it.
@Suite("Coverage figures, worked out by hand")
struct CoverageFiguresTests {
    static let readOn = ISO8601DateFormatter().date(from: "2026-08-10T00:00:00Z")!

    /// Runs `body` as the owner in one transaction acting as `staff` (the triggers sign as them).
    static func acting<T: Sendable>(_ pool: Pool, as staff: Int64, _ body: (Connection) async throws -> T) async throws -> T {
        try await pool.transaction(settings: [("huifang.staff_id", String(staff))], body)
    }

    /// Inserts clients with the triggers off: as if the task generator had missed them.
    static func insertMissed(_ pool: Pool, _ statement: SQL) async throws {
        try await pool.transaction { db in
            try await db.query("set local session_replication_role = replica")
            try await db.query(statement)
        }
    }

    @Test func coverageIsCountersignedCallsByTheDeadlineOverThePopulationOfTheFacts() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let a = fixture.branchA
            let rp = fixture.staff["rpA"]!, mkt = fixture.staff["mktA"]!
            try await database.withPool { pool in
                // Opened in January: K1–K5 core on 30 Jun (2M ≥ the branch's core threshold), K6 not (0.5M);
                // U1, U2 have no snapshot at all (unclassified). With the fixture's C0001 (12M): six core clients.
                let k = try await ObligationGenerationTests.openClients(pool, branch: a, prefix: "K", count: 6, openedAt: "2026-01-05 10:00+08")
                let u = try await ObligationGenerationTests.openClients(pool, branch: a, prefix: "U", count: 2, openedAt: "2026-01-05 10:00+08")
                try await pool.query(
                    """
                    insert into huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets)
                    select \(a), id, '2026-06-30', amount
                    from unnest(\(k)::bigint[], array[2000000, 2000000, 2000000, 2000000, 2000000, 500000]::numeric[]) as x (id, amount)
                    """)
                // Broker-introduced accounts opened on Mon 6 Jul: B1 gets its task and leaves it open, B2
                // closes its account the next day (task cancelled), B3 the task generator missed.
                let b = try await ObligationGenerationTests.openClients(
                    pool, branch: a, prefix: "B", count: 2, openedAt: "2026-07-06 10:00+08", broker: fixture.brokerA)
                try await Self.insertMissed(
                    pool,
                    """
                    insert into huifang.clients (branch_id, client_no, name, id_type, id_number, opened_at, referrer_broker_id)
                    values (\(a), 'B3', '客户', 'passport', 'E2000003', '2026-07-06 11:00+08', \(fixture.brokerA))
                    """)
                try await pool.query("update huifang.clients set status = 'closed', closed_at = '2026-07-07 10:00+08' where id = \(b[1])")
                // Flags raised in July: K6's gets its verification task; U1's was written with the triggers off.
                try await pool.query(
                    """
                    insert into huifang.client_flags (branch_id, client_id, fields, reason, source, flagged_by, flagged_at)
                    values (\(a), \(k[5]), '{phone}', 'number unobtainable', 'branch', \(rp), '2026-07-10 09:00+08')
                    """)
                try await Self.insertMissed(
                    pool,
                    """
                    insert into huifang.client_flags (branch_id, client_id, fields, reason, source, flagged_by, flagged_at)
                    values (\(a), \(u[0]), '{phone}', 'number unobtainable', 'branch', \(rp), '2026-07-10 09:30+08')
                    """)
            }
            _ = try await ObligationGenerationTests.generate(database, "2026-07", today: "2026-08-10")

            try await database.withPool { pool in
                let core: [Int64] = try await pool.query(
                    "select id from huifang.callback_tasks where branch_id = \(a) and rule_code = 'core_monthly' and period = '2026-07' order by id"
                ).map { try $0.decode(0) }
                try #require(core.count == 6)
                // Due at the end of Fri 31 Jul. t0 on time and countersigned; t1 late and countersigned;
                // t2 on time, submitted, not yet countersigned; t3 on time, returned by the leader;
                // t4 unreachable; t5 never done.
                try await pool.query(
                    """
                    update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(rp), assigned_at = '2026-07-02'
                    where id = any(\(Array(core.prefix(5))))
                    """)
                try await pool.query("update huifang.callback_tasks set state = 'in_progress' where id = any(\(Array(core.prefix(5))))")
                var records: [Int64] = []
                for task in core.prefix(4) {
                    let record: Int64 = try await Self.acting(pool, as: rp) { db in
                        let id: Int64 = try await db.query(
                            """
                            insert into huifang.records (branch_id, form_code, form_version, task_id, client_id, answers)
                            select branch_id, 'service', 1, id, client_id, '{"method": "phone"}' from huifang.callback_tasks where id = \(task)
                            returning id
                            """
                        ).single().decode(0)
                        try await db.query("update huifang.records set state = 'submitted' where id = \(id)")
                        return id
                    }
                    records.append(record)
                }
                // The calls' times: submitted by the deadline except t1 (Mon 3 Aug).
                try await pool.query(
                    """
                    update huifang.callback_tasks
                    set closed_at = case id when \(core[1]) then '2026-08-03 09:00+08'::timestamptz else '2026-07-30 16:00+08' end
                    where id = any(\(Array(core.prefix(4))))
                    """)
                try await Self.acting(pool, as: mkt) { db in
                    try await db.query("update huifang.records set state = 'countersigned' where id = any(\(Array(records.prefix(2))))")
                    try await db.query("update huifang.records set state = 'returned', return_reason = 'no date of the call' where id = \(records[3])")
                }
                try await pool.query(
                    """
                    insert into huifang.callback_attempts (branch_id, task_id, attempted_at, channel, outcome, staff_id, recorded_at)
                    select \(a), \(core[4]), d, 'phone', 'no_answer', \(rp), d + interval '5 minutes'
                    from unnest(array['2026-07-06 10:00+08', '2026-07-07 10:00+08', '2026-07-08 10:00+08']::timestamptz[]) d
                    """)
                try await pool.query(
                    """
                    update huifang.callback_tasks set state = 'unreachable', closed_by = \(rp), closed_at = '2026-07-09 09:00+08',
                           close_reason = 'three days without an answer'
                    where id = \(core[4])
                    """)
            }

            let rows = try await database.withPool(database.application) { pool in
                try await pool.transaction(settings: ObligationGenerator.settings, readOnly: true) {
                    try await CoverageReport($0).rows(for: Period("2026-07")!, branches: nil, branchId: a, at: Self.readOn)
                }
            }
            func row(_ rule: String, _ period: String) throws -> CoverageRow {
                try #require(rows.first { $0.ruleCode == rule && $0.period == period }, "no \(rule) row for \(period)")
            }

            let core = try row("core_monthly", "2026-07")
            #expect(core.population == 6 && core.required == 6)  // the draw: C0001 + K1–K5, 100 %
            #expect(core.completedOnTime == 1)  // t0 only: t2 and t3 were on time but are not countersigned
            #expect(core.completedLate == 1)  // t1
            #expect(core.awaitingSignoff == 2)  // t2 submitted, t3 returned
            #expect(core.unreachable == 1 && core.cancelled == 0)  // t4
            #expect(core.overdue == 1 && core.open == 0)  // t5, due 31 Jul, read on 10 Aug
            #expect(core.unclassified == 2)  // U1, U2: open on 1 Jul, opened before, no snapshot before 1 Jul
            #expect(core.coveragePercent == Decimal(string: "16.67"))  // 1 ÷ 6
            #expect(core.attemptedPercent == Decimal(string: "83.33"))  // (1 + 1 + 2 + 1) ÷ 6
            #expect(!core.met)  // 1 < 6

            let broker = try row("new_account_broker", "2026-07")
            #expect(broker.population == 3 && broker.required == 3)  // B1, B2, B3: every broker-introduced opening
            #expect(broker.cancelled == 1)  // B2's account closed before its callback
            #expect(broker.overdue == 1)  // B1, due 5 working days after 6 Jul (13 Jul)
            #expect(broker.completedOnTime + broker.completedLate + broker.awaitingSignoff + broker.unreachable + broker.open == 0)
            // B3 never got a task: population − the task columns = 3 − 2 = 1 member missing.
            #expect(broker.unclassified == nil)  // not a rule judged on assets
            #expect(broker.coveragePercent == Decimal(string: "0.00") && broker.attemptedPercent == Decimal(string: "0.00"))
            #expect(!broker.met)

            let flags = try row("data_verification", "2026-07")
            #expect(flags.population == 2 && flags.required == 2)  // both flags raised in July
            #expect(flags.overdue == 1)  // K6's task, due 10 working days after 10 Jul (24 Jul)
            #expect(flags.open + flags.completedOnTime + flags.cancelled == 0)  // U1's flag has no task: a gap of 1
            #expect(flags.coveragePercent == Decimal(string: "0.00"))

            // The half-year window July lies in: K6 is small/medium and U1, U2 (no snapshot) are taken as
            // small/medium too: 3 members, 20 % → ⌈0.6⌉ = 1 required; nobody called yet.
            let half = try row("service_half_year", "2026-H2")
            #expect(half.population == 3 && half.required == 1 && half.open == 1)  // due at the end of the half-year
            #expect(half.unclassified == 2)  // the same window start as July's: U1, U2

            let csv = CoverageRow.csvHeader.joined(separator: ",")
            #expect(
                csv == "branch,rule,period,population,required,required_percent,completed_on_time,completed_late,awaiting_signoff,"
                    + "unreachable,cancelled,overdue,open,unclassified,coverage_percent,attempted_percent,met")
            #expect(core.csvFields.joined(separator: ",").hasSuffix(",6,6,100.00,1,1,2,1,0,1,0,2,16.67,83.33,no"))
        }
    }

    @Test func aCorrectionEnteredAfterAWindowWasDrawnDoesNotReJudgeIt() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let a = fixture.branchA
            let k = try await database.withPool { pool in
                let k = try await ObligationGenerationTests.openClients(pool, branch: a, prefix: "K", count: 2, openedAt: "2026-01-05 10:00+08")
                try await pool.query(
                    """
                    insert into huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets)
                    select \(a), id, '2026-06-30', amount from unnest(\(k)::bigint[], array[2000000, 500000]::numeric[]) as x (id, amount)
                    """)
                return k
            }
            func core(_ period: String) async throws -> Set<Int64> {
                try await database.withPool { pool in
                    Set(try await pool.query(
                        """
                        select unnest(population_clients) from huifang.obligation_draws
                        where branch_id = \(a) and rule_code = 'core_monthly' and sample_window = \(period)
                        """
                    ).map { try $0.decode(0, as: Int64.self) })
                }
            }
            _ = try await ObligationGenerationTests.generate(database, "2026-07", today: "2026-07-02")
            #expect(try await core("2026-07") == [fixture.clientA, k[0]])  // K2 has 0.5M: not core
            // On 3 Jul the core system restates K2's 30 Jun balance to 2M.
            _ = try await database.withPool { pool in
                try await pool.query(
                    """
                    insert into huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets, correction_reason)
                    values (\(a), \(k[1]), '2026-06-30', 2000000, 'restated by the core system'),
                           (\(a), \(k[0]), '2026-06-30', 2500000, 'restated by the core system')
                    """)
            }
            // July was judged when it was drawn: running the generator again draws nobody new for it.
            let again = try await ObligationGenerationTests.generate(database, "2026-07", today: "2026-07-03")
            #expect(again.first { $0.rule == "core_monthly" }?.draws == 0)
            #expect(try await core("2026-07") == [fixture.clientA, k[0]])
            // The explanation of K1's July task says what was known and that a correction came later.
            let explanation = try await database.withPool { pool in
                try await pool.withConnection { db -> TaskExplanation? in
                    let task: Int64 = try await db.query(
                        "select id from huifang.callback_tasks where client_id = \(k[0]) and rule_code = 'core_monthly' and period = '2026-07'"
                    ).single().decode(0)
                    return try await TaskExplanation.load(db, taskId: task, branches: nil)
                }
            }
            #expect(explanation?.draw?.correctionsSince == 1)
            // And the coverage report names the window: two corrections came after July was judged.
            let corrected = try await database.withPool(database.application) { pool in
                try await pool.transaction(settings: ObligationGenerator.settings, readOnly: true) {
                    try await CoverageReport($0).correctionsAfterJudging(for: Period("2026-07")!, branches: nil, branchId: a)
                }
            }
            #expect(corrected.map { "\($0.ruleCode) \($0.window) \($0.corrections)" }.contains("core_monthly 2026-07 2"))
            #expect(explanation?.lines.contains {
                $0.hasPrefix("snapshots as known at ") && $0.hasSuffix("1 correction(s) of this client's snapshots entered since do not re-judge this window")
            } == true)
            // August, drawn after the correction, is judged on it.
            _ = try await ObligationGenerationTests.generate(database, "2026-08", today: "2026-08-03")
            #expect(try await core("2026-08") == [fixture.clientA, k[0], k[1]])
        }
    }
    /// The unclassified figure is judged when the window is first drawn and kept on that draw (0058):
    /// a snapshot recorded later does not lower it, and an account opened before the window but
    /// imported after the draw — with no snapshot known then — raises it.
    @Test func unclassifiedClientsAreJudgedAtTheDrawAndLateImportsAddToThem() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let a = fixture.branchA
            let u = try await database.withPool { pool in
                try await ObligationGenerationTests.openClients(pool, branch: a, prefix: "U", count: 2, openedAt: "2026-01-05 10:00+08")
            }
            _ = try await ObligationGenerationTests.generate(database, "2026-07", today: "2026-07-02")
            func unclassified() async throws -> (month: Int?, half: Int?) {
                let rows = try await database.withPool(database.application) { pool in
                    try await pool.transaction(settings: ObligationGenerator.settings, readOnly: true) {
                        try await CoverageReport($0).rows(for: Period("2026-07")!, branches: nil, branchId: a, at: Self.readOn)
                    }
                }
                return (rows.first { $0.ruleCode == "core_monthly" }?.unclassified,
                        rows.first { $0.ruleCode == "service_half_year" }?.unclassified)
            }
            let kept: [Int?] = try await database.withPool { pool in
                try await pool.query(
                    """
                    select unclassified_clients from huifang.obligation_draws
                    where branch_id = \(a) and sample_window in ('2026-07', '2026-H2') and draw_no = 1 order by rule_code
                    """
                ).map { try $0.decode(0) }
            }
            #expect(kept == [2, 2])  // U1, U2, kept on July's and H2's first draws
            #expect(try await unclassified() == (2, 2))

            try await database.withPool { pool in
                // U1's 30 Jun balance arrives after the draw: the windows stay judged as they were.
                try await pool.query(
                    """
                    insert into huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets)
                    values (\(a), \(u[0]), '2026-06-30', 3000000)
                    """)
                // An account opened in March is imported now, without a snapshot; one opened on 2 Jul
                // (after the windows' start) and one closed in June do not count.
                _ = try await ObligationGenerationTests.openClients(pool, branch: a, prefix: "L", count: 1, openedAt: "2026-03-02 10:00+08")
                _ = try await ObligationGenerationTests.openClients(pool, branch: a, prefix: "J", count: 1, openedAt: "2026-07-02 10:00+08")
                let gone = try await ObligationGenerationTests.openClients(pool, branch: a, prefix: "G", count: 1, openedAt: "2026-02-02 10:00+08")
                try await pool.query("update huifang.clients set status = 'closed', closed_at = '2026-06-15 10:00+08' where id = \(gone[0])")
            }
            #expect(try await unclassified() == (3, 3))
        }
    }
}
