import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// The record rules hold in SQL, for a request role that bypasses the service layer.
@Suite("Records in the database: transitions, signatures, recusal, isolation")
struct RecordRulesInDatabaseTests {
    static let answers = JSONB(text: #"{"method": "visit", "findings": [{"kind": "need", "text": "wants margin trading"}]}"#)

    static func access(_ fixture: OrganizationFixture, _ who: String, _ action: Action, branch: Int) -> Access {
        Access(staffId: fixture.staff[who]!, action: action, branchIds: [branch], allBranches: false, organization: false)
    }

    /// An ad-hoc existing-client record of client A drafted by `who`, as the request role.
    static func draft(_ pool: Pool, _ fixture: OrganizationFixture, by who: String) async throws -> Int64 {
        try await pool.transaction(for: access(fixture, who, .writeRecords, branch: fixture.branchA)) {
            try await RecordStore($0).create(.init(
                branchId: fixture.branchA, formCode: "existing_client", formVersion: 1, taskId: nil, clientId: fixture.clientA,
                answers: answers, profile: nil))
        }
    }

    @Test func theDatabaseHoldsTheDomainsStepsAndSignsEachWithTheContentDigest() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let rows = try await database.withPool { pool in
                Set(try await pool.query("select from_state, to_state, step from huifang.record_transitions").map {
                    [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self)]
                })
            }
            #expect(rows == RecordTransitions.rows)
            try await database.withPool(database.application) { pool in
                let record = try await Self.draft(pool, fixture, by: "rpA")
                let rp = Self.access(fixture, "rpA", .writeRecords, branch: fixture.branchA)
                let ops = Self.access(fixture, "opsA", .signRecords, branch: fixture.branchA)
                // A jump from draft to countersigned, a forged performer, a forged signature: all refused.
                for (scope, statement) in [
                    (ops, "update huifang.records set state = 'countersigned' where id = \(record)"),
                    (rp, "update huifang.records set performer_staff_id = \(fixture.staff["deskA"]!) where id = \(record)"),
                    (rp, "insert into huifang.record_signatures (branch_id, record_id, step, signer_staff_id, signer_role, content_sha256) values (\(fixture.branchA), \(record), 'countersign', \(fixture.staff["opsA"]!), 'ops_director', sha256('x'))"),
                ] as [(Access, SQL)] {
                    await #expect(throws: PostgresError.self) { try await pool.transaction(for: scope) { try await $0.execute(statement) } }
                }
                // Someone else's draft is not theirs to sign.
                let desk = Self.access(fixture, "deskA", .writeRecords, branch: fixture.branchA)
                let forged = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: desk) { try await $0.execute("update huifang.records set state = 'submitted' where id = \(record)") }
                }
                #expect(forged?.constraint == "records_signer")
                try await pool.transaction(for: rp) { try await $0.execute("update huifang.records set state = 'submitted' where id = \(record)") }
                try await pool.transaction(for: ops) { try await $0.execute("update huifang.records set state = 'countersigned' where id = \(record)") }
                let (digests, matches): ([String], Bool) = try await pool.transaction(for: ops) { db in
                    let digests: [String] = try await db.query(
                        "select encode(content_sha256, 'hex') from huifang.record_signatures where record_id = \(record) order by id"
                    ).map { try $0.decode(0) }
                    let matches: Bool = try await db.query(
                        "select bool_and(g.content_sha256 = huifang.record_content_hash(r)) from huifang.record_signatures g join huifang.records r on r.id = g.record_id where r.id = \(record)"
                    ).single().decode(0)
                    return (digests, matches)
                }
                #expect(digests.count == 2 && Set(digests).count == 1 && matches)
                // The findings became items when the record was signed.
                let findings: Int = try await pool.transaction(for: rp) {
                    try await $0.query("select count(*)::int from huifang.record_findings where record_id = \(record)").single().decode(0)
                }
                #expect(findings == 1)
                // Signatures are never rewritten, even by the owner.
                let rewrite = await #expect(throws: PostgresError.self) {
                    try await database.withPool { try await $0.query("delete from huifang.record_signatures where record_id = \(record)") }
                }
                #expect(rewrite?.constraint == "records_immutable")
            }
        }
    }

    @Test func aRecordWaitingForItsCountersignatureIsOverdueAfterTwoWorkingDays() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool(database.application) { pool in
                let record = try await Self.draft(pool, fixture, by: "rpA")
                let rp = Self.access(fixture, "rpA", .writeRecords, branch: fixture.branchA)
                try await pool.transaction(for: rp) { try await $0.execute("update huifang.records set state = 'submitted' where id = \(record)") }
                let monitor = Self.access(fixture, "opsA", .readMonitoring, branch: fixture.branchA)
                func overdue(_ days: Double) async throws -> [ClockItem] {
                    try await pool.transaction(for: monitor) { db in
                        var filter = MonitoringQueries.Filter()
                        filter.kind = "record_submission"
                        return try await MonitoringQueries(db, now: Date().addingTimeInterval(days * 86_400)).clocks(
                            .overdue, filter, branches: [fixture.branchA], limit: 10)
                    }
                }
                // Not overdue now; overdue 20 calendar days on, which hold more than two working days
                // whenever the test runs (the longest holiday, the Spring Festival, is nine days).
                #expect(try await overdue(0).isEmpty)
                let late = try await overdue(20)
                #expect(late.map(\.title) == ["Record \(record): countersign or return it"])
                #expect(late.first?.ageWorkdays ?? 0 >= 1)
            }
        }
    }

    @Test func theClientsReferrerCannotRecordTheirCallbackAndBranchBCannotReachBranchARecords() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            _ = try await database.withPool {
                try await $0.query("update huifang.clients set referrer_staff_id = \(fixture.staff["rpA"]!) where id = \(fixture.clientA)")
            }
            try await database.withPool(database.application) { pool in
                let recusal = await #expect(throws: PostgresError.self) { _ = try await Self.draft(pool, fixture, by: "rpA") }
                #expect(recusal?.constraint == "records_recusal")
                let record = try await Self.draft(pool, fixture, by: "deskA")

                // Branch B's ops director, with branch A's ids: sees nothing, changes nothing, creates nothing there.
                let opsB = Self.access(fixture, "opsB", .signRecords, branch: fixture.branchB)
                let (seen, changed): (Int, Int) = try await pool.transaction(for: opsB) { db in
                    let seen: Int = try await db.query(
                        "select count(*)::int from huifang.records where branch_id = \(fixture.branchA) and id = \(record)").single().decode(0)
                    let changed = try await db.execute(
                        "update huifang.records set state = 'submitted' where branch_id = \(fixture.branchA) and id = \(record)")
                    return (seen, changed)
                }
                #expect(seen == 0 && changed == 0)
                let deskB = Self.access(fixture, "deskB", .writeRecords, branch: fixture.branchB)
                let planted = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: deskB) {
                        try await RecordStore($0).create(.init(
                            branchId: fixture.branchA, formCode: "existing_client", formVersion: 1, taskId: nil, clientId: fixture.clientA,
                            answers: Self.answers, profile: nil))
                    }
                }
                #expect(planted?.sqlState == "42501")
                let uploads: Int = try await pool.transaction(for: opsB) {
                    try await $0.execute("update huifang.record_uploads set state = 'submitted' where branch_id = \(fixture.branchA)")
                }
                #expect(uploads == 0)

                // Branch B's performer names branch A's finding: refused on scope before anything is read;
                // with branch B's own id, A's finding reads exactly as a missing one.
                let findingA: Int64 = try await pool.transaction(for: Self.access(fixture, "deskA", .readRecords, branch: fixture.branchA)) {
                    try await $0.query("select min(id) from huifang.record_findings where branch_id = \(fixture.branchA)").single().decode(0)
                }
                let deskBWrites = Self.access(fixture, "deskB", .writeRecords, branch: fixture.branchB)
                func dismiss(_ branch: Int, _ finding: Int64) async -> PostgresError? {
                    await #expect(throws: PostgresError.self) {
                        try await pool.transaction(for: deskBWrites) {
                            try await $0.execute("select huifang.dismiss_finding(\(branch), \(finding), 'not a real need')")
                        }
                    }
                }
                #expect(await dismiss(fixture.branchA, findingA)?.constraint == "findings_scope")
                let foreign = await dismiss(fixture.branchB, findingA)
                let missing = await dismiss(fixture.branchB, 987_654_321)
                #expect(foreign?.sqlState == "P0002" && missing?.sqlState == "P0002")
                #expect(foreign?.message.replacingOccurrences(of: String(findingA), with: "N")
                        == missing?.message.replacingOccurrences(of: "987654321", with: "N"))
            }
            let untouched: Int = try await database.withPool {
                try await $0.query("select count(*)::int from huifang.record_findings where dismissed_at is not null").single().decode(0)
            }
            #expect(untouched == 0)
        }
    }

    @Test func aStepNeverRewritesTheTextAndTheSchedulersFunctionsAreNotTheRequestRoles() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool(database.application) { pool in
                let record = try await Self.draft(pool, fixture, by: "deskA")
                let desk = Self.access(fixture, "deskA", .writeRecords, branch: fixture.branchA)
                let ops = Self.access(fixture, "opsA", .signRecords, branch: fixture.branchA)
                try await pool.transaction(for: desk) { try await $0.execute("update huifang.records set state = 'submitted' where id = \(record)") }
                // The leader cannot countersign (or return) a text of their own making.
                for statement: SQL in [
                    "update huifang.records set state = 'countersigned', answers = '{\"method\": \"letter\"}' where id = \(record)",
                    "update huifang.records set state = 'returned', return_reason = 'x', answers = '{}' where id = \(record)",
                ] {
                    let forged = await #expect(throws: PostgresError.self) { try await pool.transaction(for: ops) { try await $0.execute(statement) } }
                    #expect(forged?.constraint == "records_immutable")
                }
                try await pool.transaction(for: ops) {
                    try await $0.execute("update huifang.records set state = 'returned', return_reason = 'add the recording id' where id = \(record)")
                }
                // Nor can the performer rewrite the leader's reason.
                let rewritten = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: desk) { try await $0.execute("update huifang.records set return_reason = 'all fine' where id = \(record)") }
                }
                #expect(rewritten?.constraint == "records_immutable")

                // The scheduler's functions: refused to a request, and the trigger helpers not callable at all.
                for statement: SQL in [
                    "select huifang.open_record_uploads('2026-05')", "select huifang.end_due_directives()",
                    "select huifang.open_directive_feedback(\(fixture.branchB), 1, now(), 'tasks_closed')",
                ] {
                    let refused = await #expect(throws: PostgresError.self) { try await pool.transaction(for: desk) { try await $0.query(statement) } }
                    #expect(refused?.sqlState == "42501", "\(statement.text)")
                }
                // A record of another branch is not even probed: the answer is the same as for none.
                let probe = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: desk) {
                        try await $0.execute(
                            "insert into huifang.records (branch_id, form_code, form_version, amends_id, amendment_reason, answers) values (\(fixture.branchB), 'service', 1, 1, 'x', '{}')")
                    }
                }
                #expect(probe?.sqlState == "42501")
            }
        }
    }

    @Test func aDraftOfSomeoneTheTaskWasTakenFromCannotBeSignedAndDoesNotBlockTheNewAssignee() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let task: Int64 = try await database.withPool { try await fixture.newAccountTaskA(in: $0) }
            try await database.withPool(database.application) { pool in
                let ops = Self.access(fixture, "opsA", .manageTasks, branch: fixture.branchA)
                func assign(_ who: String) async throws {
                    try await pool.transaction(for: ops) {
                        try await $0.execute(
                            "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(fixture.staff[who]!), assigned_by = \(fixture.staff["opsA"]!), assigned_at = now() where id = \(task)")
                    }
                }
                func draft(_ who: String) async throws -> Int64 {
                    try await pool.transaction(for: Self.access(fixture, who, .writeRecords, branch: fixture.branchA)) {
                        try await RecordStore($0).create(.init(
                            branchId: fixture.branchA, formCode: "new_account", formVersion: 1, taskId: task, clientId: nil,
                            answers: Self.answers, profile: nil))
                    }
                }
                try await assign("deskA")
                let stale = try await draft("deskA")
                try await assign("rpA")
                let fresh = try await draft("rpA")
                let refused = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: Self.access(fixture, "deskA", .writeRecords, branch: fixture.branchA)) {
                        try await $0.execute("update huifang.records set state = 'submitted' where id = \(stale)")
                    }
                }
                #expect(refused?.constraint == "records_task")
                try await pool.transaction(for: Self.access(fixture, "rpA", .writeRecords, branch: fixture.branchA)) {
                    try await $0.execute("update huifang.records set state = 'submitted' where id = \(fresh)")
                }
                let (state, record): (String, Int64?) = try await pool.transaction(for: ops) {
                    let row = try await $0.query("select state, record_id from huifang.callback_tasks where id = \(task)").single()
                    return (try row.decode(0), try row.decode(1))
                }
                #expect(state == "completed" && record == fresh)
            }
        }
    }
}
