import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

@Suite("SLA timers: schedules in working days, exactly-once firing, stopping")
struct TimerEngineTests {
    /// A branch to hang timers on; returns its id.
    static func branch(_ pool: Pool) async throws -> Int {
        try await pool.query("insert into huifang.branches (code, name, region) values ('BJ001', '北京营业部', '华北') returning id")
            .single().decode(0)
    }

    static func shanghai(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    @Test func theScheduleCountsWorkingDaysAcrossNationalDay() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let branch = try await Self.branch(pool)
                // Raised Mon 28 Sep 2026 15:00: 29, 30 Sep, then 1–7 Oct off, Sat 10 Oct worked → day 15 is Fri 23 Oct.
                let started = try await pool.transaction { db in
                    try await Timers(db).start(
                        TimerSubject(branchId: branch, kind: "problem", id: 1, clock: "problem_loop"),
                        startedAt: Self.shanghai("2026-09-28T15:00:00+08:00"), workdays: 15, title: "Problem 1",
                        notify: [Recipient(role: "ops_director", branchId: branch)])
                }
                #expect(started.dueAt == Self.shanghai("2026-10-24T00:00:00+08:00"))
                #expect(started.provisional == false)
                let row = try await pool.query(
                    """
                    select stage_names, array(select to_char(x at time zone 'Asia/Shanghai', 'MM-DD HH24:MI') from unnest(stage_at) x)
                    from huifang.timers where id = \(started.id)
                    """
                ).single()
                #expect(try row.decode(0, as: [String].self) == ["warning_50", "warning_75", "breached", "escalated"])
                // 50 % = 7.5 working days: noon of day 8 (14 Oct); 75 % = 11.25: 06:00 of day 12 (20 Oct);
                // escalation at the end of working day 16 (Mon 26 Oct).
                #expect(try row.decode(1, as: [String].self) == ["10-14 12:00", "10-20 06:00", "10-24 00:00", "10-27 00:00"])
            }
        }
    }

    @Test func aDeadlineInAProvisionalYearSaysSo() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let branch = try await Self.branch(pool)
                let started = try await pool.transaction { db in
                    try await Timers(db).start(
                        TimerSubject(branchId: branch, kind: "problem", id: 2, clock: "problem_loop"),
                        startedAt: Self.shanghai("2026-12-24T10:00:00+08:00"), workdays: 15, title: "Problem 2", notify: [])
                }
                #expect(started.provisional)
            }
        }
    }

    /// `count` timers per branch whose every stage lies in the past.
    static func overdueTimers(_ pool: Pool, branch: Int, count: Int, escalateTo department: Int? = nil) async throws {
        try await pool.transaction { db in
            for n in 0..<count {
                try await Timers(db).start(
                    TimerSubject(branchId: branch, kind: "task", id: Int64(n), clock: "new_account_callback"),
                    startedAt: Self.shanghai("2026-03-02T10:00:00+08:00"), workdays: 5, title: "Task \(n)",
                    notify: [Recipient(role: "ops_director", branchId: branch)],
                    escalateTo: department.map { [Recipient(role: "brokerage_ops_center", departmentId: $0)] } ?? [])
            }
        }
    }

    @Test func everyStageFiresOnceWithItsNotifications() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let branch = try await Self.branch(pool)
                let department: Int = try await pool.query(
                    "insert into huifang.departments (code, name, kind) values ('BOC', '经纪业务运营中心', 'brokerage_ops_center') returning id"
                ).single().decode(0)
                try await Self.overdueTimers(pool, branch: branch, count: 3, escalateTo: department)
                let engine = SLAEngine(pool: pool)
                var rounds: [SLAEngine.Fired] = []
                while true {
                    let fired = try await engine.fireDue(limit: 100)
                    if fired.stages == 0 { break }
                    rounds.append(fired)
                }
                // One stage per timer per round: warning_50, warning_75, breached, escalated.
                #expect(rounds == Array(repeating: .init(stages: 3, notifications: 3), count: 3) + [.init(stages: 3, notifications: 6)])
                let stages = try await pool.query(
                    "select stage, count(*) from huifang.sla_events group by stage order by stage"
                ).map { "\(try $0.decode(0, as: String.self))=\(try $0.decode(1, as: Int.self))" }
                #expect(stages == ["breached=3", "escalated=3", "warning_50=3", "warning_75=3"])
                let done: Int = try await pool.query("select count(*) from huifang.timers where state = 'done'").single().decode(0)
                #expect(done == 3)
                // Every stage fired, the work still open: when it ends, late, the clock stops and
                // keeps the working days it ran (from Mon 2 Mar 2026, so far more than its 5).
                let subject = TimerSubject(branchId: branch, kind: "task", id: 0, clock: "new_account_callback")
                #expect(try await pool.transaction { try await Timers($0).stop(subject, reason: "callback done") })
                let stopped = try await pool.query(
                    "select state, stopped_workdays from huifang.timers where subject_kind = 'task' and subject_id = 0").single()
                #expect(try stopped.decode(0, as: String.self) == "stopped")
                #expect(try stopped.decode(1, as: Int.self) > 100)
            }
        }
    }

    /// A recipient that names no branch or department (an HQ department this organization does not
    /// have) is skipped, and the clocks behind it keep firing.
    @Test func aRecipientWithNoAddressDoesNotStopTheClocks() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let branch = try await Self.branch(pool)
                try await pool.query(
                    """
                    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify, escalate_to)
                    values (\(branch), 'record_upload', 1, 'upload_due', '2026-03-02 10:00+08', 1, 'Upload',
                            jsonb_build_array(jsonb_build_object('role', 'ops_director', 'branchId', \(branch)::int)),
                            '[{"role": "brokerage_ops_center", "departmentId": null}]')
                    """)
                let engine = SLAEngine(pool: pool)
                var stages = 0
                while true {
                    let fired = try await engine.fireDue(limit: 100)
                    if fired.stages == 0 { break }
                    stages += fired.stages
                }
                #expect(stages == 4)
                let sent: Int = try await pool.query("select count(*)::int from huifang.notifications").single().decode(0)
                #expect(sent == 4, "the ops director at each stage, nobody for the missing department")
            }
        }
    }

    @Test func twoEnginesRacingFireEachStageExactlyOnce() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let branch = try await Self.branch(pool)
                try await Self.overdueTimers(pool, branch: branch, count: 400)
            }
            let totals = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await database.withPool(database.application, size: 1) { pool in
                            let engine = SLAEngine(pool: pool)
                            var notifications = 0
                            while true {
                                let fired = try await engine.fireDue(limit: 25)
                                #expect(fired.stages == fired.notifications)
                                notifications += fired.notifications
                                if fired.stages == 0, try await engine.nextDue() == nil { break }
                            }
                            return notifications
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(totals.reduce(0, +) == 1600)
            #expect(totals.allSatisfy { $0 > 0 }, "one engine did all the work: \(totals)")
            try await database.withPool { pool in
                let row = try await pool.query(
                    "select (select count(*) from huifang.sla_events), (select count(*) from huifang.notifications)"
                ).single()
                #expect(try row.decode(0, as: Int.self) == 1600)
                #expect(try row.decode(1, as: Int.self) == 1600)
            }
        }
    }

    @Test func aWorkerKilledMidBatchLosesAndDuplicatesNothing() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let branch = try await Self.branch(pool)
                try await Self.overdueTimers(pool, branch: branch, count: 50)
            }
            try await database.withPool(database.application, size: 1) { victim in
                try await database.withPool(size: 1) { admin in
                    try await victim.withConnection { connection in
                        try await connection.run(script: "begin")
                        try await connection.query("select set_config('huifang.system', 'on', true)")
                        let fired: Int = try await connection.query(SLAEngine.fireQuery(limit: 50)).single().decode(0)
                        #expect(fired == 50)
                        // The worker dies before COMMIT, as with kill -9: its backend goes away.
                        let pid = connection.backendPID
                        try await admin.query("select pg_terminate_backend(\(pid))")
                        await #expect(throws: PostgresError.self) { try await connection.run(script: "commit") }
                    }
                }
            }
            try await database.withPool { pool in
                let events: Int = try await pool.query("select count(*) from huifang.sla_events").single().decode(0)
                #expect(events == 0)
                let engine = SLAEngine(pool: pool)
                var total = 0
                while true {
                    let fired = try await engine.fireDue(limit: 100)
                    if fired.stages == 0 { break }
                    total += fired.stages
                }
                #expect(total == 200)
                let row = try await pool.query(
                    "select count(*), count(distinct (timer_id, stage)) from huifang.sla_events").single()
                #expect(try row.decode(0, as: Int.self) == 200)
                #expect(try row.decode(1, as: Int.self) == 200)
            }
        }
    }

    @Test func aStoppedClockNeverFiresAgain() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let branch = try await Self.branch(pool)
                try await Self.overdueTimers(pool, branch: branch, count: 2)
                let engine = SLAEngine(pool: pool)
                #expect(try await engine.fireDue(limit: 10).stages == 2)  // warning_50 of both
                let subject = TimerSubject(branchId: branch, kind: "task", id: 0, clock: "new_account_callback")
                #expect(try await pool.transaction { try await Timers($0).stop(subject, reason: "callback done") })
                #expect(try await pool.transaction { try await Timers($0).stop(subject, reason: "again") } == false)
                var total = 0
                while true {
                    let fired = try await engine.fireDue(limit: 10)
                    if fired.stages == 0 { break }
                    total += fired.stages
                }
                #expect(total == 3)  // only the other timer's remaining three stages
                let stopped = try await pool.query(
                    "select array_agg(stage order by stage) from huifang.sla_events e join huifang.timers t on t.id = e.timer_id where t.subject_id = 0"
                ).single().decode(0, as: [String].self)
                #expect(stopped == ["warning_50"])
            }
        }
    }

    @Test func notificationsReachWhoeverHoldsTheRoleThereAndNoOneElse() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool(database.application) { pool in
                for (person, branch, expected) in [("opsA", fixture.branchA, 1), ("opsB", fixture.branchB, 1), ("deskA", fixture.branchA, 0)] {
                    let access = Access(
                        staffId: fixture.staff[person]!, action: .readNotifications, branchIds: [], allBranches: false, organization: false)
                    let grants = [RoleGrant(role: person.hasPrefix("ops") ? .opsDirector : .frontDesk, branchId: branch)]
                    let page = try await pool.transaction(for: access) {
                        try await NotificationStore($0).list(for: grants, unreadOnly: false, before: nil, limit: 10)
                    }
                    // The fixture's clock; its callback tasks' clocks notify the ops directors too.
                    #expect(page.items.filter { $0.subjectKind == "client" }.count == expected, "\(person)")
                    #expect(person.hasPrefix("ops") || page.items.isEmpty, "\(person)")
                    #expect(page.items.allSatisfy { $0.branchId == branch })
                    // Naming someone else's grant in the query does not get past row-level security.
                    let forged = try await pool.transaction(for: access) {
                        try await NotificationStore($0).list(
                            for: [RoleGrant(role: .opsDirector, branchId: fixture.branchA == branch ? fixture.branchB : fixture.branchA)],
                            unreadOnly: false, before: nil, limit: 10)
                    }
                    #expect(forged.items.isEmpty, "\(person)")
                }
            }
        }
    }
}
