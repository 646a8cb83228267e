import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// What the database refuses whatever code path asks: recusal, the state machine, other branches.
@Suite("Callback tasks in SQL: recusal, transitions and isolation as the request role")
struct TaskRulesInDatabaseTests {
    static func access(_ staff: Int64, _ action: Action, branches: [Int] = [], departments: [Int] = [], all: Bool = false) -> Access {
        Access(staffId: staff, action: action, branchIds: branches, allBranches: all, organization: false, departmentIds: departments)
    }

    /// Branch A's new-account task of the fixture's client.
    static func taskA(_ pool: Pool, _ fixture: OrganizationFixture) async throws -> Int64 {
        try await fixture.newAccountTaskA(in: pool)
    }

    @Test func theReferrerCanNeverBeAssignedOrCompleteEvenInDirectSQL() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (rp, desk, ops) = (fixture.staff["rpA"]!, fixture.staff["deskA"]!, fixture.staff["opsA"]!)
            let task = try await database.withPool { pool in
                // rpA introduced the client; deskA is the staff member behind the referring broker.
                try await pool.query("update huifang.clients set referrer_staff_id = \(rp) where id = \(fixture.clientA)")
                try await pool.query("update huifang.brokers set staff_id = \(desk) where id = \(fixture.brokerA)")
                return try await Self.taskA(pool, fixture)
            }
            try await database.withPool(database.application) { pool in
                let scope = Self.access(ops, .manageTasks, branches: [fixture.branchA])
                for referrer in [rp, desk] {
                    let error = await #expect(throws: PostgresError.self) {
                        try await pool.transaction(for: scope) {
                            try await $0.execute(
                                "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(referrer) where id = \(task)")
                        }
                    }
                    #expect(error?.constraint == "callback_tasks_recusal")
                    #expect(error?.message.contains("recusal (Art 4)") == true)
                }
                // The director may take it, but not complete it on behalf of the referrer either.
                try await pool.transaction(for: scope) {
                    try await $0.execute("update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(ops) where id = \(task)")
                    try await $0.execute("update huifang.callback_tasks set state = 'in_progress' where id = \(task)")
                }
                let completion = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: scope) {
                        try await $0.execute(
                            "update huifang.callback_tasks set state = 'completed', closed_at = now(), closed_by = \(rp) where id = \(task)")
                    }
                }
                #expect(completion?.constraint == "callback_tasks_recusal")
            }
            // Making the assignee the referrer afterwards is refused too.
            try await database.withPool { pool in
                let error = await #expect(throws: PostgresError.self) {
                    try await pool.query("update huifang.clients set referrer_staff_id = \(ops) where id = \(fixture.clientA)")
                }
                #expect(error?.constraint == "callback_tasks_recusal")
            }
        }
    }

    @Test func aReferringBrokerRecordedAfterTheOpeningStillGetsTheAccountItsCallback() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                let client: Int64 = try await pool.query(
                    """
                    insert into huifang.clients (branch_id, client_no, name, id_type, id_number, opened_at)
                    values (\(fixture.branchA), 'LATE1', '孙八', 'passport', 'E2223334', '2026-07-06 10:00+08') returning id
                    """
                ).single().decode(0)
                let before: Int = try await pool.query(
                    "select count(*)::int from huifang.callback_tasks where client_id = \(client)").single().decode(0)
                #expect(before == 0)
                try await pool.query("update huifang.clients set referrer_broker_id = \(fixture.brokerA) where id = \(client)")
                let after = try await pool.query(
                    "select rule_code, (due_at at time zone 'Asia/Shanghai')::text from huifang.callback_tasks where client_id = \(client)"
                ).map { [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)] }
                // Opened Mon 6 Jul: day 5 is Mon 13 Jul.
                #expect(after == [["new_account_broker", "2026-07-14 00:00:00"]])
            }
        }
    }

    @Test func theDatabaseHoldsTheDomainsTransitionsAndRefusesJumps() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                let pairs = Set(try await pool.query("select from_state, to_state from huifang.callback_task_transitions").map {
                    [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)]
                })
                #expect(pairs == TaskTransitions.pairs)
                let task = try await Self.taskA(pool, fixture)
                let jump = await #expect(throws: PostgresError.self) {
                    try await pool.query(
                        "update huifang.callback_tasks set state = 'completed', closed_at = now(), closed_by = \(fixture.staff["rpA"]!) where id = \(task)")
                }
                #expect(jump?.constraint == "callback_tasks_transition")
                // Unreachable needs failed attempts on three different days; the fixture logged one.
                try await pool.query(
                    "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(fixture.staff["rpA"]!) where id = \(task)")
                try await pool.query("update huifang.callback_tasks set state = 'in_progress' where id = \(task)")
                let early = await #expect(throws: PostgresError.self) {
                    try await pool.query(
                        "update huifang.callback_tasks set state = 'unreachable', closed_at = now(), close_reason = 'no answer' where id = \(task)")
                }
                #expect(early?.constraint == "callback_tasks_unreachable")
                try await pool.query(
                    """
                    insert into huifang.callback_attempts (branch_id, task_id, attempted_at, channel, outcome, staff_id, recorded_at)
                    values (\(fixture.branchA), \(task), '2026-03-04 10:00+08', 'phone', 'busy', \(fixture.staff["rpA"]!), '2026-03-04 10:05+08'),
                           (\(fixture.branchA), \(task), '2026-03-04 15:00+08', 'sms', 'no_answer', \(fixture.staff["rpA"]!), '2026-03-04 15:05+08'),
                           (\(fixture.branchA), \(task), '2026-03-05 10:00+08', 'phone', 'no_answer', \(fixture.staff["rpA"]!), '2026-03-05 10:05+08')
                    """)
                try await pool.query(
                    "update huifang.callback_tasks set state = 'unreachable', closed_at = now(), close_reason = 'no answer' where id = \(task)")
                let timer: String = try await pool.query(
                    "select state from huifang.timers where subject_kind = 'callback_task' and subject_id = \(task)"
                ).single().decode(0)
                #expect(timer == "stopped")
            }
        }
    }

    @Test func attemptsCarryTheServersLoggingTimeAndCannotBeBackdatedOrForwardDated() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let rp = fixture.staff["rpA"]!
            let (task, created) = try await database.withPool { pool in
                let task = try await Self.taskA(pool, fixture)
                try await pool.query("update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(rp) where id = \(task)")
                try await pool.query("update huifang.callback_tasks set state = 'in_progress' where id = \(task)")
                let created: Date = try await pool.query("select created_at from huifang.callback_tasks where id = \(task)").single().decode(0)
                return (task, created)
            }
            try await database.withPool(database.application) { pool in
                let work = Self.access(rp, .workTasks, branches: [fixture.branchA])
                func log(_ at: Date, recordedAt: Date? = nil) async throws {
                    try await pool.transaction(for: work) {
                        try await $0.execute(
                            """
                            insert into huifang.callback_attempts (branch_id, task_id, attempted_at, channel, outcome, staff_id, recorded_at)
                            values (\(fixture.branchA), \(task), \(at), 'phone', 'no_answer', \(rp), \(recordedAt))
                            """)
                    }
                }
                // Tomorrow has not happened; a request's attempt is no older than its task (whose clock
                // started at the opening in March, long before the task was created).
                for refused in [Date().addingTimeInterval(86400), created.addingTimeInterval(-3600)] {
                    let error = await #expect(throws: PostgresError.self) { try await log(refused) }
                    #expect(error?.constraint == "callback_attempts_time", "\(refused)")
                }
                // Claiming to have logged it long ago changes nothing: the server stamps it now.
                try await log(Date().addingTimeInterval(-60), recordedAt: Date().addingTimeInterval(-30 * 86400))
                let stamped: Int = try await pool.transaction(for: work) {
                    try await $0.query(
                        "select count(*)::int from huifang.callback_attempts where task_id = \(task) and recorded_at > now() - interval '1 hour'"
                    ).single().decode(0)
                }
                #expect(stamped == 1)
                let closing = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: work) {
                        try await $0.execute(
                            "update huifang.callback_tasks set state = 'unreachable', closed_by = \(rp), close_reason = 'no answer' where id = \(task)")
                    }
                }
                #expect(closing?.constraint == "callback_tasks_unreachable")
                #expect(closing?.message.contains("this one has 2") == true, "\(closing?.message ?? "")")
                // The log is the log: nobody edits or removes an attempt.
                for statement in [
                    "update huifang.callback_attempts set recorded_at = attempted_at where task_id = \(task)",
                    "delete from huifang.callback_attempts where task_id = \(task)",
                ] {
                    let error = await #expect(throws: PostgresError.self) {
                        try await pool.transaction(for: work) { try await $0.execute(SQL(statement)) }
                    }
                    #expect(error?.sqlState == "42501", "\(statement)")
                }
            }
            try await database.withPool { pool in
                let error = await #expect(throws: PostgresError.self) {
                    try await pool.query("update huifang.callback_attempts set recorded_at = attempted_at where task_id = \(task)")
                }
                #expect(error?.constraint == "callback_attempts_append_only")
            }
        }
    }

    /// Art 9's three days, logged as a branch in a hurry would: Saturday's, Sunday's and Monday's
    /// attempts all typed in late on Monday (each within its next working day), or a third "day"
    /// dated into the clock skew allowed at logging.
    @Test func threeDaysNeedMoreThanOneSittingAndADayInTheFutureIsNone() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                func verificationTask(_ branch: Int) async throws -> Int64 {
                    try await pool.query(
                        "select id from huifang.callback_tasks where branch_id = \(branch) and rule_code = 'data_verification'").single().decode(0)
                }
                func log(_ task: Int64, _ branch: Int, _ pairs: [(String, String)]) async throws {
                    for (attempted, recorded) in pairs {
                        try await pool.query(
                            """
                            insert into huifang.callback_attempts (branch_id, task_id, attempted_at, channel, outcome, staff_id, recorded_at)
                            values (\(branch), \(task), \(attempted)::timestamptz, 'phone', 'no_answer', \(fixture.staff["opsA"]!), \(recorded)::timestamptz)
                            """)
                    }
                }
                func days(_ task: Int64, _ branch: Int) async throws -> Int {
                    try await pool.query("select huifang.task_failed_days(\(branch), \(task))").single().decode(0)
                }
                // Sat 21, Sun 22 and Mon 23 Nov 2026, all logged Monday 23:58: two days, not three.
                let weekend = try await verificationTask(fixture.branchA)
                try await log(weekend, fixture.branchA, [
                    ("2026-11-21 10:00+08", "2026-11-23 23:58+08"), ("2026-11-22 10:00+08", "2026-11-23 23:58+08"),
                    ("2026-11-23 10:00+08", "2026-11-23 23:58+08"),
                ])
                #expect(try await days(weekend, fixture.branchA) == 2)
                // A fourth day logged on Tuesday is a second sitting: now three.
                try await log(weekend, fixture.branchA, [("2026-11-24 10:00+08", "2026-11-24 10:05+08")])
                #expect(try await days(weekend, fixture.branchA) == 3)
                // Tuesday 23:58: an attempt "at" Wednesday 00:02 is inside the skew but not a day.
                let skew = try await verificationTask(fixture.branchB)
                try await log(skew, fixture.branchB, [
                    ("2026-11-23 10:00+08", "2026-11-23 10:05+08"), ("2026-11-24 23:57+08", "2026-11-24 23:58+08"),
                    ("2026-11-25 00:02+08", "2026-11-24 23:58+08"),
                ])
                #expect(try await days(skew, fixture.branchB) == 2)
            }
        }
    }

    /// Coverage, the assessment and the monitoring compare closed_at with due_at: a request cannot
    /// backdate when a task closed, started or was assigned.
    @Test func aRequestCannotBackdateWhenATaskClosed() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (ops, desk) = (fixture.staff["opsA"]!, fixture.staff["deskA"]!)
            let task = try await database.withPool { try await Self.taskA($0, fixture) }
            try await database.withPool(database.application) { pool in
                let manage = Self.access(ops, .manageTasks, branches: [fixture.branchA])
                let work = Self.access(desk, .workTasks, branches: [fixture.branchA])
                try await pool.transaction(for: manage) {
                    try await $0.execute(
                        "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(desk), assigned_at = '2026-03-02 11:00+08' where id = \(task)")
                }
                try await pool.transaction(for: work) {
                    try await $0.execute("update huifang.callback_tasks set state = 'in_progress', started_at = '2026-03-02 12:00+08' where id = \(task)")
                }
                try await pool.transaction(for: manage) {
                    try await $0.execute(
                        "update huifang.callback_tasks set state = 'cancelled', closed_at = '2026-03-03 09:00+08', closed_by = \(ops), close_reason = 'duplicate' where id = \(task)")
                    // And after the fact.
                    try await $0.execute("update huifang.callback_tasks set closed_at = '2026-03-03 09:00+08' where id = \(task)")
                }
            }
            let stamps = try await database.withPool {
                try await $0.query(
                    """
                    select assigned_at > now() - interval '1 hour', started_at > now() - interval '1 hour', closed_at > now() - interval '1 hour'
                    from huifang.callback_tasks where id = \(task)
                    """
                ).single()
            }
            #expect(try stamps.decode(0, as: Bool.self) && stamps.decode(1, as: Bool.self) && stamps.decode(2, as: Bool.self),
                    "the server's clock, not the dates sent")
        }
    }

    @Test func branchBNeitherSeesNorTouchesBranchATasksAndTheCallCenterOnlyItsOwn() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let task = try await database.withPool { try await Self.taskA($0, fixture) }
            try await database.withPool(database.application) { pool in
                let opsB = Self.access(fixture.staff["opsB"]!, .manageTasks, branches: [fixture.branchB])
                try await pool.transaction(for: opsB) { db in
                    let seen: Int = try await db.query(
                        "select count(*)::int from huifang.callback_tasks where branch_id = \(fixture.branchA)").single().decode(0)
                    #expect(seen == 0)
                    let changed = try await db.execute(
                        "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(fixture.staff["opsB"]!) where id = \(task)")
                    #expect(changed == 0)
                    let draws: Int = try await db.query(
                        "select count(*)::int from huifang.obligation_draws where branch_id = \(fixture.branchA)").single().decode(0)
                    #expect(draws == 0)
                }
                let forged = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: opsB) {
                        try await $0.execute(
                            """
                            insert into huifang.callback_tasks (branch_id, rule_code, rule_version, period, sample_window, client_id, title,
                                                                owner_role, clock_started_at, clock_workdays)
                            values (\(fixture.branchA), 'special', 1, '2026-07', 'forged', \(fixture.clientA), 'forged', 'ops_director', now(), 5)
                            """)
                    }
                }
                #expect(forged?.sqlState == "42501")
                // The call center reaches no branch task, only the work its department executes.
                let department: Int = try await database.withPool {
                    try await $0.query("select id from huifang.departments where kind = 'call_center'").single().decode(0)
                }
                let callCenter = Self.access(fixture.staff["callCenter"]!, .workTasks, departments: [department])
                let visible: Int = try await pool.transaction(for: callCenter) {
                    try await $0.query("select count(*)::int from huifang.callback_tasks").single().decode(0)
                }
                #expect(visible == 0)
            }
        }
    }

    @Test func ruleVersionsAreHistoryAndKeepTheRegulationsFloors() async throws {
        try await TestDatabase.with { database in
            _ = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                let edit = await #expect(throws: PostgresError.self) {
                    try await pool.query("update huifang.obligation_rules set coverage_percent = 50 where code = 'new_account_ordinary'")
                }
                #expect(edit?.sqlState == "55000")
                let erase = await #expect(throws: PostgresError.self) {
                    try await pool.query("delete from huifang.obligation_rules where code = 'special'")
                }
                #expect(erase?.sqlState == "55000")
                let low = await #expect(throws: PostgresError.self) {
                    try await pool.transaction {
                        try await ObligationRuleStore($0).publish(
                            code: "new_account_ordinary", effectiveFrom: PostgresDate("2099-01-01")!, coveragePercent: 25,
                            dueWorkdays: nil, note: nil)
                    }
                }
                #expect(low?.constraint == "obligation_rules_floor")
                let past = await #expect(throws: PostgresError.self) {
                    try await pool.transaction {
                        try await ObligationRuleStore($0).publish(
                            code: "new_account_ordinary", effectiveFrom: PostgresDate("2026-02-01")!, coveragePercent: 40,
                            dueWorkdays: nil, note: nil)
                    }
                }
                #expect(past?.constraint == "obligation_rules_effective_from")
                let next = try await pool.transaction {
                    try await ObligationRuleStore($0).publish(
                        code: "new_account_ordinary", effectiveFrom: PostgresDate("2099-01-01")!, coveragePercent: 40,
                        dueWorkdays: nil, note: "raise the sample")
                }
                #expect(next?.version == 2 && next?.coveragePercent == 40 && next?.dueWorkdays == 5)
                let inEffect: Int = try await pool.query(
                    "select (huifang.rule_in_effect('new_account_ordinary', '2026-07-01')).version").single().decode(0)
                #expect(inEffect == 1)
            }
        }
    }
}
