import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// The person-month figures (Art 6, 16) are kept by statement triggers that skip a statement whose
/// rows move nothing between the figures (an assignment, a submit, a countersign's signature). The
/// steps that do move them — a return, a completed task — must still count: after a task's whole
/// life the kept figures equal a recount.
@Suite("Person-month figures after a task's steps")
struct PersonFiguresAfterStepsTests {
    static func access(_ fixture: OrganizationFixture, _ who: String, _ action: Action) -> Access {
        Access(staffId: fixture.staff[who]!, action: action, branchIds: [fixture.branchA], allBranches: false, organization: false)
    }

    static let figures: SQL = """
        select coalesce(array_agg(branch_id || ' ' || staff_id || ' ' || month || ' ' || concat_ws(',', callbacks_done, callbacks_on_time,
               records_returned, problems_raised, problems_closed, problems_rejected, problems_open) order by branch_id, staff_id, month), '{}')
        from huifang.person_month_figures
        where callbacks_done <> 0 or records_returned <> 0 or problems_raised <> 0 or problems_closed <> 0 or problems_rejected <> 0
              or problems_open <> 0
        """

    @Test func aReturnAndACompletedTaskCountAndTheStepsBetweenChangeNothing() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let task: Int64 = try await database.withPool { try await fixture.newAccountTaskA(in: $0) }
            let (rp, ops) = (fixture.staff["rpA"]!, fixture.staff["opsA"]!)
            func kept() async throws -> [String] {
                try await database.withPool { try await $0.query(Self.figures).single().decode(0) }
            }
            func row(of staff: Int64, _ figures: [String]) -> String? {
                figures.first { $0.hasPrefix("\(fixture.branchA) \(staff) ") }
            }
            let before = try await kept()
            try await database.withPool(database.application) { pool in
                try await pool.transaction(for: Self.access(fixture, "opsA", .manageTasks)) {
                    try await $0.execute(
                        "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(rp), assigned_by = \(ops), assigned_at = now() where id = \(task)")
                }
                #expect(try await kept() == before, "an assignment moves nothing")
                let writer = Self.access(fixture, "rpA", .writeRecords)
                let record = try await pool.transaction(for: writer) {
                    try await RecordStore($0).create(.init(
                        branchId: fixture.branchA, formCode: "new_account", formVersion: 1, taskId: task, clientId: nil,
                        answers: JSONB(text: #"{"method": "phone"}"#), profile: nil))
                }
                func step(_ step: RecordStep, as access: Access, reason: String? = nil) async throws {
                    try await pool.transaction(for: access) { db in
                        let store = RecordStore(db)
                        let found = try #require(try await store.get(record, branches: [fixture.branchA], lock: true))
                        try await store.take(step, on: found, reason: reason)
                    }
                }
                let signer = Self.access(fixture, "opsA", .signRecords)
                try await step(.submit, as: writer)
                let submitted = try await kept()
                try await step(.return, as: signer, reason: "请补充通话录音编号 Add the call recording id")
                let returned = try await kept()
                #expect(row(of: rp, returned) != row(of: rp, submitted), "the return counts for the performer: \(returned)")
                try await step(.submit, as: writer)
                try await step(.countersign, as: signer)
            }
            let after = try await kept()
            #expect(after != before, "the completed task and the return count")
            let recounted: [String] = try await database.withPool { pool in
                try await pool.query("select huifang.recount_person_month_figures()")
                return try await pool.query(Self.figures).single().decode(0)
            }
            #expect(after == recounted)
        }
    }
}
