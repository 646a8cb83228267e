import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// The lists and counts people open every day walk an index in their own order, as each role meets
/// them under row-level security: with sequential scans priced out no plan may still scan a table
/// that grows with the brokerage. (Which index wins depends on the data's size; `huifang bench
/// monitoring` times the same lists on the national data set.)
@Suite("Daily list and count plans use indexes, for each role")
struct DailyListPlanTests {
    static let now = ISO8601DateFormatter().date(from: "2026-11-25T08:00:00Z")!

    /// Every plan of the statements `body` runs as `staff` with `action`'s access.
    static func plans(
        _ pool: Pool, owner: Pool, staff: Int64, action: Action, _ body: @escaping @Sendable (Connection, Access) async throws -> Void
    ) async throws -> [PlanCapture.Statement] {
        let grants = try await owner.query(
            "select role, branch_id, department_id from huifang.role_grants where staff_id = \(staff) and revoked_at is null"
        ).map { RoleGrant(role: Role(rawValue: try $0.decode(0))!, branchId: try $0.decode(1), departmentId: try $0.decode(2)) }
        let principal = Principal(staffId: staff, employeeNo: "", name: "", grants: grants)
        let access = try #require(principal.access(for: action))
        let capture = PlanCapture()
        try await pool.transaction(for: access, readOnly: true) { db in
            try await db.execute("set local enable_seqscan = off")
            try await PlanCapture.$current.withValue(capture) { try await body(db, access) }
        }
        return capture.statements
    }

    static func expectIndexed(_ statements: [PlanCapture.Statement], _ who: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!statements.isEmpty, "\(who): nothing ran", sourceLocation: sourceLocation)
        for statement in statements {
            for table in MonitoringPlanTests.large {
                #expect(!MonitoringPlanTests.scans(statement.plan, table), "\(who) scans \(table):\n\(statement.plan)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    @Test func problemListsCountsAndInboxesUseIndexesForEachRole() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { owner in try await database.withPool(database.application) { pool in
                let triage = try await Self.plans(pool, owner: owner, staff: fixture.staff["opsCenter"]!, action: .readProblems) { db, access in
                    var filter = ProblemStore.Filter()
                    filter.departmentIds = access.departmentIds
                    filter.openOnly = true
                    _ = try await ProblemStore(db, now: Self.now).list(filter, branches: nil, after: nil, limit: 50)
                    _ = try await ProblemStore(db, now: Self.now).counts(departmentIds: access.departmentIds, branches: nil, staffId: access.staffId)
                }
                Self.expectIndexed(triage, "the triage queue")

                let national = try await Self.plans(pool, owner: owner, staff: fixture.staff["auditor"]!, action: .readProblems) { db, access in
                    var filter = ProblemStore.Filter()
                    filter.openOnly = true
                    _ = try await ProblemStore(db, now: Self.now).list(filter, branches: access.indexableBranches, after: nil, limit: 50)
                    filter.openOnly = false
                    filter.states = [.closed]
                    _ = try await ProblemStore(db, now: Self.now).list(filter, branches: access.indexableBranches, after: nil, limit: 50)
                    _ = try await ProblemStore(db, now: Self.now).counts(departmentIds: nil, branches: access.indexableBranches, staffId: access.staffId)
                }
                Self.expectIndexed(national, "the auditor's problems")

                let branch = try await Self.plans(pool, owner: owner, staff: fixture.staff["opsA"]!, action: .readProblems) { db, access in
                    var filter = ProblemStore.Filter()
                    filter.openOnly = true
                    _ = try await ProblemStore(db, now: Self.now).list(filter, branches: access.indexableBranches, after: nil, limit: 50)
                    _ = try await ProblemStore(db, now: Self.now).counts(departmentIds: nil, branches: access.indexableBranches, staffId: access.staffId)
                }
                Self.expectIndexed(branch, "a branch's problems")

                let inbox = try await Self.plans(pool, owner: owner, staff: fixture.staff["functional"]!, action: .answerForwardings) { db, access in
                    _ = try await ProblemStore(db, now: Self.now).forwardingQueue(
                        departmentIds: access.departmentIds, states: [.received, .acknowledged], after: nil, limit: 50)
                }
                Self.expectIndexed(inbox, "a functional department's inbox")

                // What it answered, and HQ accepted, walks its answer clocks by deadline (0059).
                let answered = try await Self.plans(pool, owner: owner, staff: fixture.staff["functional"]!, action: .answerForwardings) {
                    db, access in
                    _ = try await ProblemStore(db, now: Self.now).forwardingQueue(
                        departmentIds: access.departmentIds, states: [.answered, .accepted], after: nil, limit: 50)
                }
                Self.expectIndexed(answered, "a functional department's answered forwardings")
                #expect(answered.contains { $0.plan.contains("timers_answers_by_deadline") }, "\(answered.map(\.plan))")
            } }
        }
    }

    /// Every branch's tasks and records as one list, for the auditor and HQ: a page walks a deadline
    /// (or newest-first) index and joins its own rows only; a person's tasks walk their own index.
    @Test func nationalTaskAndRecordListsWalkAnIndexInTheirOrder() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { owner in try await database.withPool(database.application) { pool in
                let auditor = fixture.staff["auditor"]!
                let tasks = try await Self.plans(pool, owner: owner, staff: auditor, action: .readTasks) { db, access in
                    _ = try await TaskStore(db).list(.init(), branches: access.indexableBranches, after: nil, limit: 50)
                    var mine = TaskStore.Filter()
                    mine.assigneeStaffId = access.staffId
                    _ = try await TaskStore(db).list(mine, branches: access.indexableBranches, after: nil, limit: 50)
                }
                Self.expectIndexed(tasks, "the auditor's tasks")
                #expect(tasks.first?.plan.contains("callback_tasks_by_deadline") == true, "every task by deadline:\n\(tasks.first?.plan ?? "")")
                #expect(tasks.last?.plan.contains("callback_tasks_assigned_by_deadline") == true, "mine:\n\(tasks.last?.plan ?? "")")

                let records = try await Self.plans(pool, owner: owner, staff: auditor, action: .readRecords) { db, access in
                    _ = try await RecordStore(db).list(.init(), branches: access.indexableBranches, before: nil, limit: 50)
                }
                Self.expectIndexed(records, "the auditor's records")
                let branchRecords = try await Self.plans(pool, owner: owner, staff: fixture.staff["opsA"]!, action: .readRecords) { db, access in
                    _ = try await RecordStore(db).list(.init(), branches: access.indexableBranches, before: nil, limit: 50)
                }
                Self.expectIndexed(branchRecords, "a branch's records")
                // The call center, which reads no branch, walks the records it executed by their own index.
                let executed = try await Self.plans(pool, owner: owner, staff: fixture.staff["callCenter"]!, action: .readRecords) { db, access in
                    var filter = RecordStore.Filter()
                    filter.readingDepartments = access.departmentIds
                    _ = try await RecordStore(db).list(filter, branches: nil, before: nil, limit: 50)
                }
                Self.expectIndexed(executed, "the call center's records")
                #expect(executed.first?.plan.contains("records_executed_by") == true, "\(executed.first?.plan ?? "")")
                // A record's latest amendment is found by its own index, not by reading the branch's records.
                #expect(branchRecords.allSatisfy { !$0.plan.contains(try! Regex("Bitmap Heap Scan on records(_[0-9]{4}|_default)? a(_[0-9]+)? ")) })
            } }
        }
    }
}

@Suite("Problem counts agree with the clocks they count")
struct ProblemCountTests {
    /// Breached and at-risk are counted from the clocks' deadlines as two ranges; before the second
    /// warning, between it and the deadline, and past the deadline they are exactly what each clock says.
    @Test func breachedAndAtRiskCountsMatchTheClocksAtEveryMoment() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (warned, due): (Date, Date) = try await database.withPool { pool in
                try await pool.transaction { db in
                    try await db.query("select set_config('huifang.staff_id', \(String(fixture.staff["rpA"]!)), true)")
                    for n in 0..<3 {
                        try await db.query(
                            """
                            insert into huifang.problems (branch_id, client_id, category, severity, description)
                            values (\(fixture.branchA), \(fixture.clientA), 'client_complaint', 'medium', \("问题 \(n)"))
                            """)
                    }
                }
                // Every open problem's clock: the latest second warning, the earliest deadline.
                let row = try await pool.query(
                    """
                    select max(stage_at[2]), min(due_at) from huifang.timers
                    where subject_kind = 'problem' and clock = 'problem_loop' and stopped_at is null
                    """
                ).single()
                return (try row.decode(0), try row.decode(1))
            }
            #expect(warned < due)
            let auditor = Access(staffId: fixture.staff["auditor"]!, action: .readProblems, branchIds: [], allBranches: true, organization: false)
            let ops = Access(staffId: fixture.staff["opsA"]!, action: .readProblems, branchIds: [fixture.branchA], allBranches: false, organization: false)
            try await database.withPool(database.application) { pool in
                for access in [auditor, ops] {
                    let open = try await pool.transaction(for: access, readOnly: true) { db in
                        try await db.query("select count(*)::int from huifang.problems where state <> 'closed'").single().decode(0, as: Int.self)
                    }
                    #expect(open >= 3)
                    let moments: [(Date, breached: Int, atRisk: Int)] = [
                        (warned.addingTimeInterval(-86400 * 3), 0, 0), (due.addingTimeInterval(-1), 0, open), (due.addingTimeInterval(86400 * 3), open, 0),
                    ]
                    for (now, breached, atRisk) in moments {
                        let counts = try await pool.transaction(for: access, readOnly: true) {
                            try await ProblemStore($0, now: now).counts(departmentIds: nil, branches: access.indexableBranches, staffId: access.staffId)
                        }
                        #expect(counts.open == open)
                        #expect(counts.breached == breached, "at \(now): \(counts)")
                        #expect(counts.atRisk == atRisk, "at \(now): \(counts)")
                    }
                }
            }
        }
    }
}
