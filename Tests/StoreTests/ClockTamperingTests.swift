import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// Issue 19 A3, as a branch that wants to look compliant tries it: connected as the request role, it
/// goes after the deadlines of its own callbacks (and another branch's), directly and through the
/// functions that move clocks. Only the engine, the workflows' triggers and a calendar load move a clock.
@Suite("Deadlines cannot be edited by the request role")
struct ClockTamperingTests {
    static func scope(_ staff: Int64, branches: [Int], action: Action = .readClients) -> Access {
        Access(staffId: staff, action: action, branchIds: branches, allBranches: false, organization: false)
    }

    /// The fixture's branch new-account task and the running clock that holds its deadline.
    static func taskClock(_ pool: Pool, branch: Int) async throws -> (task: Int64, timer: Int64, due: Date) {
        let row = try await pool.query(
            """
            select t.id, m.id, t.due_at from huifang.callback_tasks t
            join huifang.timers m on m.branch_id = t.branch_id and m.subject_kind = 'callback_task' and m.subject_id = t.id
            where t.branch_id = \(branch) and t.rule_code = 'new_account_broker'
            """
        ).single()
        return (try row.decode(0), try row.decode(1), try row.decode(2))
    }

    static func refused(_ pool: Pool, _ access: Access, _ statement: SQL, sqlState: String = "42501") async {
        do {
            let changed = try await pool.transaction(for: access) { try await $0.execute(statement) }
            Issue.record("accepted (\(changed) rows): \(statement.text)")
        } catch let error as PostgresError {
            #expect(error.sqlState == sqlState, "\(statement.text): \(error)")
        } catch {
            Issue.record("\(statement.text): \(error)")
        }
    }

    @Test func aBranchCannotMoveStartStopOrDeleteItsOwnClocksOrAnotherBranchs() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (taskA, timerA, dueA) = try await database.withPool { try await Self.taskClock($0, branch: fixture.branchA) }
            let (_, timerB, dueB) = try await database.withPool { try await Self.taskClock($0, branch: fixture.branchB) }
            try await database.withPool(database.application) { pool in
                let ops = Self.scope(fixture.staff["opsA"]!, branches: [fixture.branchA])
                for statement: SQL in [
                    // Today's loophole: more working days, a later start, a deadline, no stages, stopped in time.
                    "update huifang.timers set workdays = workdays + 30 where branch_id = \(fixture.branchA) and id = \(timerA)",
                    "update huifang.timers set started_at = now() where branch_id = \(fixture.branchA) and id = \(timerA)",
                    "update huifang.timers set due_at = due_at + interval '30 days' where branch_id = \(fixture.branchA)",
                    "update huifang.timers set next_fire_at = null, stage_at = '{}' where branch_id = \(fixture.branchA)",
                    "update huifang.timers set state = 'stopped', stopped_at = started_at where branch_id = \(fixture.branchA)",
                    "update huifang.timers set workdays = 99 where branch_id = \(fixture.branchB) and id = \(timerB)",
                    "delete from huifang.timers where branch_id = \(fixture.branchA)",
                    """
                    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify)
                    values (\(fixture.branchA), 'callback_task', \(taskA), 'task_due', now(), 60, 'mine', '[]')
                    """,
                    // The functions a clock moves through are not the request role's.
                    "select huifang.stop_clock(\(fixture.branchA), 'callback_task', \(taskA), 'done', 'task_due')",
                    "select huifang.stop_clock(\(fixture.branchB), 'callback_task', \(taskA), 'done')",
                    """
                    select * from huifang.start_clock(\(fixture.branchA), 'callback_task', \(taskA), 'task_due', 'cn_workday', now(), 60,
                                                      '{0.5}', 'mine', '[]', '[]')
                    """,
                    "select * from huifang.fire_due_timers(100)",
                    // A task's own deadline columns were never the request role's; they stay so.
                    "update huifang.callback_tasks set due_at = due_at + interval '30 days' where branch_id = \(fixture.branchA)",
                    "update huifang.callback_tasks set clock_workdays = 60 where branch_id = \(fixture.branchA)",
                    "insert into huifang.sla_events (branch_id, timer_id, stage, scheduled_at, subject_kind, subject_id, clock) values (\(fixture.branchA), \(timerA), 'breached', now(), 'callback_task', \(taskA), 'task_due')",
                ] {
                    await Self.refused(pool, ops, statement)
                }
            }
            try await database.withPool { pool in
                let clockA = try await Self.taskClock(pool, branch: fixture.branchA)
                #expect(clockA.due == dueA)
                let clockB = try await Self.taskClock(pool, branch: fixture.branchB)
                #expect(clockB.due == dueB)
                let state: String = try await pool.query("select state from huifang.timers where id = \(timerA)").single().decode(0)
                #expect(state == "running")
            }
        }
    }

    /// The engine's scope fires due stages through its function and nothing else: it cannot rewrite a
    /// clock or invent a fired stage either.
    @Test func theEngineFiresThroughItsFunctionAndEditsNothing() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (taskA, timerA, dueA) = try await database.withPool { try await Self.taskClock($0, branch: fixture.branchA) }
            try await database.withPool(database.application) { pool in
                let system: [(name: String, value: String)] = SLAEngine.settings
                for statement: SQL in [
                    "update huifang.timers set workdays = 99 where branch_id = \(fixture.branchA) and id = \(timerA)",
                    "delete from huifang.timers where branch_id = \(fixture.branchA)",
                    "select huifang.stop_clock(\(fixture.branchA), 'callback_task', \(taskA), 'done', 'task_due')",
                    "insert into huifang.sla_events (branch_id, timer_id, stage, scheduled_at, subject_kind, subject_id, clock) values (\(fixture.branchA), \(timerA), 'breached', now(), 'callback_task', \(taskA), 'task_due')",
                ] {
                    do {
                        let changed = try await pool.transaction(settings: system) { try await $0.execute(statement) }
                        Issue.record("accepted (\(changed) rows): \(statement.text)")
                    } catch let error as PostgresError {
                        #expect(error.sqlState == "42501", "\(statement.text): \(error)")
                    }
                }
                // What it may do: fire what is due (the fixture's clocks of March 2026 are long overdue).
                let fired = try await SLAEngine(pool: pool).fireDue(limit: 100)
                #expect(fired.stages > 0)
            }
            try await database.withPool { pool in
                let clockAfter = try await Self.taskClock(pool, branch: fixture.branchA)
                #expect(clockAfter.due == dueA)
            }
        }
    }
}
