import Domain
import Foundation
import Postgres
@testable import Server
import Store
import Testing
import TestSupport

/// Issue 22: callback records partitioned by year (sql/0060). The two unique rules PostgreSQL can no
/// longer enforce across partitions hold under concurrency, with the error the API gave before; what
/// points at a record carries its created_at under a real foreign key; `huifang archive` takes a year
/// of records only when nothing kept points at it.
@Suite("Records by year: the unique rules under concurrency, the carried keys, the archive")
struct RecordsByYearTests {
    static let answers = JSONB(text: #"{"method": "visit", "findings": [{"kind": "need", "text": "wants margin trading"}]}"#)

    static func access(_ fixture: OrganizationFixture, _ who: String, _ action: Action) -> Access {
        Access(staffId: fixture.staff[who]!, action: action, branchIds: [fixture.branchA], allBranches: false, organization: false)
    }

    /// Whether a statement of this test's database waits for a lock (the second submit, behind the first).
    static let someoneWaits: SQL =
        "select exists (select from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock')"

    /// `first` is signed in a transaction held open until `second`, signed concurrently on another
    /// connection, waits for it; then the first commits. The second's error, if any.
    static func race(
        owner: Pool, app: Pool, as access: Access, first: Int64, second: Int64
    ) async throws -> PostgresError? {
        let other = try await app.transaction(for: access) { db in
            try await db.execute("update huifang.records set state = 'submitted' where id = \(first)")
            let other = Task {
                try await app.transaction(for: access) { try await $0.execute("update huifang.records set state = 'submitted' where id = \(second)") }
            }
            try await waitUntil(owner, someoneWaits)
            return other
        }
        if case .failure(let error) = await other.result { return try #require(error as? PostgresError) }
        return nil
    }

    @Test func twoDraftsOfOneTaskSubmittedAtOnceGiveOneRecordAndTheConflictTheUniqueIndexGave() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let task: Int64 = try await database.withPool { try await fixture.newAccountTaskA(in: $0) }
            try await database.withPool { owner in
                try await database.withPool(database.application, size: 3) { pool in
                    try await pool.transaction(for: Self.access(fixture, "opsA", .manageTasks)) {
                        try await $0.execute(
                            "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(fixture.staff["rpA"]!), assigned_by = \(fixture.staff["opsA"]!), assigned_at = now() where id = \(task)")
                    }
                    let rp = Self.access(fixture, "rpA", .writeRecords)
                    var drafts: [Int64] = []
                    for _ in 0..<2 {
                        drafts.append(try await pool.transaction(for: rp) {
                            try await RecordStore($0).create(.init(
                                branchId: fixture.branchA, formCode: "new_account", formVersion: 1, taskId: task, clientId: nil,
                                answers: Self.answers, profile: nil))
                        })
                    }
                    let error = try await Self.race(owner: owner, app: pool, as: rp, first: drafts[0], second: drafts[1])
                    #expect(error?.sqlState == "23505")
                    #expect(error?.constraint == "records_once_per_task")
                    // What the API answers, as it did when a unique index said so.
                    let problem = try #require(error.map(Problem.init(database:)))
                    #expect(problem.status == 409 && problem.type == Problem.typeBase + "conflict")
                    #expect(problem.title == "The task has a record already")
                    #expect(problem.detail == #"duplicate key value violates unique constraint "records_once_per_task""#)

                    let (states, completedBy): ([String], Int64?) = try await pool.transaction(for: rp) { db in
                        let states: [String] = try await db.query(
                            "select state from huifang.records where task_id = \(task) order by id").map { try $0.decode(0) }
                        let record: Int64? = try await db.query("select record_id from huifang.callback_tasks where id = \(task)").single().decode(0)
                        return (states, record)
                    }
                    #expect(states == ["submitted", "draft"])
                    #expect(completedBy == drafts[0])
                    // One after the other, the second draft meets the task's own rule, as before.
                    let late = await #expect(throws: PostgresError.self) {
                        try await pool.transaction(for: rp) { try await $0.execute("update huifang.records set state = 'submitted' where id = \(drafts[1])") }
                    }
                    #expect(late?.constraint == "records_task")
                }
            }
        }
    }

    @Test func twoAmendmentsOfOneRevisionSubmittedAtOnceGiveOne() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { owner in
                try await database.withPool(database.application, size: 3) { pool in
                    let rp = Self.access(fixture, "rpA", .writeRecords)
                    let record = try await pool.transaction(for: rp) {
                        try await RecordStore($0).create(.init(
                            branchId: fixture.branchA, formCode: "existing_client", formVersion: 1, taskId: nil, clientId: fixture.clientA,
                            answers: Self.answers, profile: nil))
                    }
                    try await pool.transaction(for: rp) { try await $0.execute("update huifang.records set state = 'submitted' where id = \(record)") }
                    try await pool.transaction(for: Self.access(fixture, "opsA", .signRecords)) {
                        try await $0.execute("update huifang.records set state = 'countersigned' where id = \(record)")
                    }
                    var amendments: [Int64] = []
                    for n in 0..<2 {
                        amendments.append(try await pool.transaction(for: rp) { db in
                            let original = try #require(try await RecordStore(db).get(record, branches: [fixture.branchA]))
                            return try await RecordStore(db).amend(original, formVersion: 1, answers: Self.answers, profile: nil, reason: "fix \(n)")
                        })
                    }
                    let error = try await Self.race(owner: owner, app: pool, as: rp, first: amendments[0], second: amendments[1])
                    #expect(error?.sqlState == "23505")
                    #expect(error?.constraint == "records_one_amendment")
                    let problem = try #require(error.map(Problem.init(database:)))
                    #expect(problem.status == 409 && problem.title == "This revision was amended already; amend the latest one")
                    let carried: [String] = try await owner.query(
                        """
                        select r.state || ':' || (r.amends_created_at = o.created_at)::text from huifang.records r
                        join huifang.records o on o.branch_id = r.branch_id and o.id = r.amends_id
                        where r.amends_id = \(record) order by r.id
                        """
                    ).map { try $0.decode(0) }
                    #expect(carried == ["submitted:true", "draft:true"])
                }
            }
        }
    }

    /// Each table that points at a record carries its created_at, filled by the database, and the
    /// foreign key on the whole key refuses a wrong one; the record lives in its year's partition.
    @Test func whatPointsAtARecordCarriesItsCreatedAtUnderARealForeignKey() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            // A task completed by its record: the task's record_id is set by an update.
            let task: Int64 = try await database.withPool { try await fixture.newAccountTaskA(in: $0) }
            try await database.withPool(database.application) { pool in
                try await pool.transaction(for: Self.access(fixture, "opsA", .manageTasks)) {
                    try await $0.execute(
                        "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(fixture.staff["rpA"]!), assigned_by = \(fixture.staff["opsA"]!), assigned_at = now() where id = \(task)")
                }
                let rp = Self.access(fixture, "rpA", .writeRecords)
                let record = try await pool.transaction(for: rp) {
                    try await RecordStore($0).create(.init(
                        branchId: fixture.branchA, formCode: "new_account", formVersion: 1, taskId: task, clientId: nil,
                        answers: Self.answers, profile: nil))
                }
                try await pool.transaction(for: rp) { try await $0.execute("update huifang.records set state = 'submitted' where id = \(record)") }
            }
            try await database.withPool { owner in
                let partition: String = try await owner.query(
                    "select tableoid::regclass::text from huifang.records order by id limit 1").single().decode(0)
                let year: Int = try await owner.query("select extract(year from now() at time zone 'UTC')::int").single().decode(0)
                #expect(partition == "huifang.records_\(year)")
                for table in ["callback_tasks", "record_signatures", "record_findings", "problems", "client_profiles"] {
                    let (rows, wrong): (Int, Int) = try await {
                        let row = try await owner.query(
                            """
                            select count(*)::int, count(*) filter (where x.record_created_at is distinct from r.created_at)::int
                            from \(unescaped: "huifang." + table) x
                            join huifang.records r on r.branch_id = x.branch_id and r.id = x.record_id
                            """
                        ).single()
                        return (try row.decode(0), try row.decode(1))
                    }()
                    #expect(rows > 0 && wrong == 0, "\(table): \(rows) rows, \(wrong) wrong")
                }
                let refused = await #expect(throws: PostgresError.self) {
                    try await owner.query(
                        """
                        update huifang.client_profiles set record_created_at = record_created_at - interval '1 second'
                        where id = (select min(id) from huifang.client_profiles)
                        """)
                }
                #expect(refused?.sqlState == "23503")
                // A record that is not there: the foreign key's own SQLSTATE and name, as before 0060.
                let missing = await #expect(throws: PostgresError.self) {
                    try await owner.query(
                        """
                        insert into huifang.record_signatures (branch_id, record_id, step, signer_staff_id, signer_role, content_sha256)
                        values (\(fixture.branchA), 999999999, 'submit', \(fixture.staff["rpA"]!), 'performer', sha256('x'))
                        """)
                }
                #expect(missing?.sqlState == "23503")
                #expect(missing?.constraint == "record_signatures_branch_id_record_id_fkey")
            }
        }
    }
}
