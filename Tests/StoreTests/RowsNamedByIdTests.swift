import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// Issue 23, item 4: HQ names a problem or a task by its id alone (the API's ids name no branch).
/// The statement finds it by the table's id index (sql/0073), one probe, not one probe of each
/// branch's key, and still only under the caller's policies.
@Suite("Rows HQ names by id alone")
struct RowsNamedByIdTests {
    /// Scans of each of `indexes` while `body` ran, in one transaction (PostgreSQL 15 counts a
    /// backend's scans not yet reported, earlier transactions' too: two readings are compared).
    static func scans<T: Sendable>(of indexes: [String], _ db: Connection, _ body: () async throws -> T) async throws -> (T, [Int]) {
        let reading: SQL = "select array_agg(pg_stat_get_xact_numscans(i::regclass)::int order by n) from unnest(\(indexes)::text[]) with ordinality u(i, n)"
        let before: [Int] = try await db.query(reading).single().decode(0)
        let value = try await body()
        let after: [Int] = try await db.query(reading).single().decode(0)
        return (value, zip(after, before).map { $0 - $1 })
    }

    @Test func hqFindsAProblemAndATaskByTheirIdIndexAndABranchStillOnlyItsOwn() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (problemB, taskA): (Int64, Int64) = try await database.withPool { pool in
                (try await pool.query("select min(id) from huifang.problems where branch_id = \(fixture.branchB)").single().decode(0),
                 try await fixture.newAccountTaskA(in: pool))
            }
            try await database.withPool(database.application) { pool in
                let hq = Access(staffId: fixture.staff["auditor"]!, action: .readProblems, branchIds: [], allBranches: true, organization: false)
                let (problem, problemScans): (Int64?, [Int]) = try await pool.transaction(for: hq) { db in
                    try await Self.scans(of: ["huifang.problems_by_id", "huifang.problems_pkey"], db) {
                        try await ProblemStore(db, now: Date()).get(problemB, branches: nil)?.id
                    }
                }
                #expect(problem == problemB)
                #expect(problemScans == [1, 0], "scans of problems_by_id, problems_pkey")
                let tasks = Access(staffId: fixture.staff["auditor"]!, action: .readTasks, branchIds: [], allBranches: true, organization: false)
                let (task, taskScans): (Int64?, [Int]) = try await pool.transaction(for: tasks) { db in
                    try await Self.scans(of: ["huifang.callback_tasks_by_id", "huifang.callback_tasks_pkey"], db) {
                        try await TaskStore(db).get(taskA, branches: nil)?.id
                    }
                }
                #expect(task == taskA)
                #expect(taskScans[0] >= 1 && taskScans[1] == 0, "scans of callback_tasks_by_id, callback_tasks_pkey: \(taskScans)")
                // Branch A's own people, with branch B's problem id: nothing.
                let opsA = Access(staffId: fixture.staff["opsA"]!, action: .readProblems, branchIds: [fixture.branchA], allBranches: false, organization: false)
                let seen = try await pool.transaction(for: opsA) { db in
                    (try await ProblemStore(db, now: Date()).get(problemB, branches: nil)?.id,
                     try await ProblemStore(db, now: Date()).get(problemB, branches: [fixture.branchB])?.id)
                }
                #expect(seen.0 == nil && seen.1 == nil)
            }
        }
    }
}
