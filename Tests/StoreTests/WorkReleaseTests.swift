import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// Issue 19 A5: a person who leaves, or loses the role their work depends on, leaves nothing assigned
/// to them. Done by the database in the transaction of the change, whoever makes it.
@Suite("Deactivating staff or revoking a grant puts their work back in its queue")
struct WorkReleaseTests {
    struct Work {
        var task: Int64
        var problem: Int64
        var forwarding: Int64
    }

    static func admin(_ fixture: OrganizationFixture) -> Access {
        Access(staffId: fixture.staff["admin"]!, action: .manageOrganization, branchIds: [], allBranches: false, organization: true)
    }

    /// As the owner, through the workflows: branch A's new-account task in progress with rpA; a
    /// compliance problem of branch A claimed by the Ops Center, forwarded to IT and acknowledged there.
    static func work(_ pool: Pool, _ fixture: OrganizationFixture) async throws -> Work {
        try await pool.transaction { db in
            func act(as who: String) async throws {
                try await db.query("select set_config('huifang.staff_id', \(String(fixture.staff[who]!)), true)")
            }
            let task: Int64 = try await db.query(
                """
                update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(fixture.staff["rpA"]!), assigned_at = now()
                where branch_id = \(fixture.branchA) and client_id = \(fixture.clientA) and rule_code = 'new_account_broker'
                returning id
                """
            ).single().decode(0)
            try await db.query(
                "update huifang.callback_tasks set state = 'in_progress', started_at = now() where branch_id = \(fixture.branchA) and id = \(task)")
            try await act(as: "rpA")
            let problem: Int64 = try await db.query(
                """
                insert into huifang.problems (branch_id, client_id, category, severity, description)
                values (\(fixture.branchA), \(fixture.clientA), 'client_complaint', 'medium', '客户投诉交易系统卡顿')
                returning id
                """
            ).single().decode(0)
            try await act(as: "opsA")
            try await db.query("update huifang.problems set state = 'at_hq', last_action = 'approve' where id = \(problem)")
            try await act(as: "opsCenter")
            try await db.query("update huifang.problems set state = 'in_triage', last_action = 'claim' where id = \(problem)")
            let forwarding: Int64 = try await db.query(
                """
                insert into huifang.problem_forwardings (branch_id, problem_id, department_id)
                values (\(fixture.branchA), \(problem), (select id from huifang.departments where code = 'IT'))
                returning id
                """
            ).single().decode(0)
            try await act(as: "functional")
            try await db.query("update huifang.problem_forwardings set state = 'acknowledged' where id = \(forwarding)")
            return Work(task: task, problem: problem, forwarding: forwarding)
        }
    }

    static func task(_ pool: Pool, _ id: Int64) async throws -> (state: String, assignee: Int64?) {
        let row = try await pool.query("select state, assignee_staff_id from huifang.callback_tasks where id = \(id)").single()
        return (try row.decode(0), try row.decode(1))
    }

    static func problem(_ pool: Pool, _ id: Int64) async throws -> (state: String, assignee: Int64?) {
        let row = try await pool.query("select state, assignee_staff_id from huifang.problems where id = \(id)").single()
        return (try row.decode(0), try row.decode(1))
    }

    static func forwarding(_ pool: Pool, _ id: Int64) async throws -> (state: String, acknowledgedBy: Int64?) {
        let row = try await pool.query("select state, acknowledged_by from huifang.problem_forwardings where id = \(id)").single()
        return (try row.decode(0), try row.decode(1))
    }

    static func notifications(_ pool: Pool, kind: String, id: Int64) async throws -> [String] {
        try await pool.query(
            """
            select recipient_role || '@' || coalesce('b' || recipient_branch_id, 'd' || recipient_department_id)
            from huifang.notifications where subject_kind = \(kind) and subject_id = \(id) and title like '%left%' order by id
            """
        ).map { try $0.decode(0) }
    }

    static func releases(_ pool: Pool, staff: Int64) async throws -> [(branch: Int?, actor: Int64?, detail: String)] {
        try await pool.query(
            """
            select branch_id, actor_staff_id, detail::text from huifang.audit_events
            where action = 'staff.work_released' and object_id = \(String(staff)) order by id
            """
        ).map { (try $0.decode(0), try $0.decode(1), try $0.decode(2)) }
    }

    @Test func deactivatingAStaffMemberPutsTheirTaskBackInTheBranchQueueNotifiedAndAudited() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let work = try await database.withPool { try await Self.work($0, fixture) }
            let rp = fixture.staff["rpA"]!
            try await database.withPool(database.application) { pool in
                try await pool.transaction(for: Self.admin(fixture)) { db in
                    try await db.query("update huifang.staff set status = 'inactive' where id = \(rp)")
                    return ()
                }
            }
            try await database.withPool { pool in
                let task = try await Self.task(pool, work.task)
                #expect(task.state == "open")
                #expect(task.assignee == nil)
                let told = try await Self.notifications(pool, kind: "callback_task", id: work.task)
                #expect(told == ["ops_director@b\(fixture.branchA)"])
                let audit = try await Self.releases(pool, staff: rp)
                #expect(audit.count == 1)
                #expect(audit.first?.branch == fixture.branchA)
                #expect(audit.first?.actor == fixture.staff["admin"]!)
                #expect(audit.first?.detail.contains("\"tasks\": [\(work.task)]") == true)
                // The rest of the branch's work is untouched: the problem is not rpA's to hold.
                let problemNow = try await Self.problem(pool, work.problem)
                #expect(problemNow.assignee == fixture.staff["opsCenter"]!)
            }
        }
    }

    @Test func revokingTheGrantAProblemDependsOnUnclaimsIt() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let work = try await database.withPool { try await Self.work($0, fixture) }
            let center = fixture.staff["opsCenter"]!
            let functional = fixture.staff["functional"]!
            try await database.withPool(database.application) { pool in
                try await pool.transaction(for: Self.admin(fixture)) { db in
                    try await db.query(
                        """
                        update huifang.role_grants set revoked_at = now(), revoked_by = huifang.scope_staff_id()
                        where staff_id = \(center) and revoked_at is null
                        """)
                    try await db.query(
                        """
                        update huifang.role_grants set revoked_at = now(), revoked_by = huifang.scope_staff_id()
                        where staff_id = \(functional) and revoked_at is null
                        """)
                }
            }
            try await database.withPool { pool in
                let problem = try await Self.problem(pool, work.problem)
                #expect(problem.state == "at_hq")
                #expect(problem.assignee == nil)
                let forwarding = try await Self.forwarding(pool, work.forwarding)
                #expect(forwarding.state == "received")
                #expect(forwarding.acknowledgedBy == nil)
                let ops: Int = try await pool.query("select id from huifang.departments where code = 'BOC'").single().decode(0)
                let it: Int = try await pool.query("select id from huifang.departments where code = 'IT'").single().decode(0)
                let toldCenter = try await Self.notifications(pool, kind: "problem", id: work.problem)
                #expect(toldCenter == ["brokerage_ops_center@d\(ops)"])
                let toldIT = try await Self.notifications(pool, kind: "problem_forwarding", id: work.forwarding)
                #expect(toldIT == ["functional_dept@d\(it)"])
                let centerReleases = try await Self.releases(pool, staff: center)
                #expect(centerReleases.first?.detail.contains("\"problems\": [\(work.problem)]") == true)
                let functionalReleases = try await Self.releases(pool, staff: functional)
                #expect(functionalReleases.first?.detail.contains("\"forwardings\": [\(work.forwarding)]") == true)
                let timeline: [String] = try await pool.query(
                    "select action from huifang.problem_events where problem_id = \(work.problem) order by id"
                ).map { try $0.decode(0) }
                #expect(timeline.contains("release"))
                // The task was never theirs: still in progress with rpA.
                let taskNow = try await Self.task(pool, work.task)
                #expect(taskNow.0 == "in_progress")
                #expect(taskNow.1 == fixture.staff["rpA"]!)
            }
        }
    }

    /// Only what the person may no longer hold goes back: another live role that lets them perform
    /// the callback keeps the task theirs.
    @Test func aRevokedGrantReleasesOnlyWhatNoOtherGrantCovers() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let work = try await database.withPool { try await Self.work($0, fixture) }
            let rp = fixture.staff["rpA"]!
            try await database.withPool(database.application) { pool in
                try await pool.transaction(for: Self.admin(fixture)) { db in
                    try await db.query(
                        "insert into huifang.role_grants (staff_id, role, branch_id, granted_by) values (\(rp), 'front_desk', \(fixture.branchA), huifang.scope_staff_id())")
                    try await db.query(
                        """
                        update huifang.role_grants set revoked_at = now(), revoked_by = huifang.scope_staff_id()
                        where staff_id = \(rp) and role = 'responsible_person'
                        """)
                }
            }
            try await database.withPool { pool in
                let taskNow = try await Self.task(pool, work.task)
                #expect(taskNow.0 == "in_progress")
                #expect(taskNow.1 == rp)
                let released = try await Self.releases(pool, staff: rp)
                #expect(released.isEmpty)
            }
        }
    }

    /// The release is not a way around the state machines: while the assignee may still hold the work,
    /// nobody sends an in-progress task back to the queue, unclaims a problem or a forwarding, or calls
    /// the release function.
    @Test func nobodyReleasesWorkWhoseHolderMayStillHoldIt() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let work = try await database.withPool { try await Self.work($0, fixture) }
            try await database.withPool(database.application) { pool in
                let attempts: [(Access, SQL, String)] = [
                    (
                        Access(staffId: fixture.staff["opsA"]!, action: .manageTasks, branchIds: [fixture.branchA], allBranches: false, organization: false),
                        "update huifang.callback_tasks set state = 'open' where branch_id = \(fixture.branchA) and id = \(work.task)", "23514"
                    ),
                    (
                        Access(staffId: fixture.staff["opsA"]!, action: .manageTasks, branchIds: [fixture.branchA], allBranches: false, organization: false),
                        "select huifang.release_work_of(\(fixture.staff["rpA"]!), 'left')", "42501"
                    ),
                    (
                        Self.admin(fixture),
                        "select huifang.release_work_of(\(fixture.staff["rpA"]!), 'left', null)", "42501"
                    ),
                ]
                for (access, statement, state) in attempts {
                    do {
                        let changed = try await pool.transaction(for: access) { try await $0.execute(statement) }
                        Issue.record("accepted (\(changed) rows): \(statement.text)")
                    } catch let error as PostgresError {
                        #expect(error.sqlState == state, "\(statement.text): \(error)")
                    }
                }
            }
            try await database.withPool { pool in
                // As the Ops Center itself (still holding its role), and as the owner: a release needs a holder who left.
                for (who, statement): (String, SQL) in [
                    ("opsCenter", "update huifang.problems set last_action = 'release', assignee_staff_id = null where id = \(work.problem)"),
                    ("functional", "update huifang.problem_forwardings set state = 'received' where id = \(work.forwarding)"),
                ] {
                    let error = await #expect(throws: PostgresError.self) {
                        try await pool.transaction { db in
                            try await db.query("select set_config('huifang.staff_id', \(String(fixture.staff[who]!)), true)")
                            try await db.execute(statement)
                        }
                    }
                    #expect(error?.sqlState == "23514", "\(statement.text)")
                }
                let taskStill = try await Self.task(pool, work.task)
                #expect(taskStill.0 == "in_progress")
                #expect(taskStill.1 == fixture.staff["rpA"]!)
                let problemStill = try await Self.problem(pool, work.problem)
                #expect(problemStill.0 == "in_triage")
                #expect(problemStill.1 == fixture.staff["opsCenter"]!)
                let forwardingStill = try await Self.forwarding(pool, work.forwarding)
                #expect(forwardingStill.0 == "acknowledged")
                #expect(forwardingStill.1 == fixture.staff["functional"]!)
            }
        }
    }
}
