import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// Client events in the database, as a branch that wants fewer callbacks would try: report another
/// branch's client, rewrite or delete an event, move a task to another event, lower an event rule
/// below 100 %; and the CSV feed, all or nothing and idempotent.
@Suite("Client events in SQL and CSV: judged once, each qualifying one called back, nothing rewritten")
struct ClientEventRulesTests {
    static func scope(_ staff: Int64, _ action: Action, branch: Int) -> Access {
        Access(staffId: staff, action: action, branchIds: [branch], allBranches: false, organization: false)
    }

    @Test func theRequestRoleReportsOnlyItsBranchAndRewritesNothing() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let ops = fixture.staff["opsA"]!
            try await database.withPool(database.application) { pool in
                let report = Self.scope(ops, .submitClientEvents, branch: fixture.branchA)
                func insert(branch: Int, client: Int64, externalId: String, by staff: Int64) async throws {
                    try await pool.transaction(for: report) {
                        try await $0.execute(
                            """
                            insert into huifang.client_events (branch_id, client_id, external_id, kind, occurred_at, source, received_by)
                            values (\(branch), \(client), \(externalId), 'password_reset', '2026-07-01 09:00+08', 'api', \(staff))
                            """)
                    }
                }
                // Another branch's client, or in someone else's name: refused by row-level security.
                for (branch, client, staff) in [(fixture.branchB, fixture.clientB, ops), (fixture.branchA, fixture.clientA, fixture.staff["deskA"]!)] {
                    let error = await #expect(throws: PostgresError.self) {
                        try await insert(branch: branch, client: client, externalId: "E-\(branch)-\(staff)", by: staff)
                    }
                    #expect(error?.sqlState == "42501")
                }
                try await insert(branch: fixture.branchA, client: fixture.clientA, externalId: "E-1", by: ops)
                let (task, rule): (Int64, String) = try await pool.transaction(for: Self.scope(ops, .readTasks, branch: fixture.branchA)) {
                    let row = try await $0.query(
                        "select t.id, t.rule_code from huifang.callback_tasks t join huifang.client_events e on e.id = t.event_id where e.external_id = 'E-1'"
                    ).single()
                    return (try row.decode(0), try row.decode(1))
                }
                #expect(rule == "event_password_reset")
                // An event is history, and its task stays its task.
                for statement in [
                    "update huifang.client_events set kind = 'agent_change' where external_id = 'E-1'",
                    "delete from huifang.client_events where external_id = 'E-1'",
                ] {
                    let error = await #expect(throws: PostgresError.self) {
                        try await pool.transaction(for: report) { try await $0.execute(SQL(statement)) }
                    }
                    #expect(error?.sqlState == "42501", "\(statement)")
                }
                let moved = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: Self.scope(ops, .manageTasks, branch: fixture.branchA)) {
                        try await $0.execute("update huifang.callback_tasks set event_id = null where id = \(task)")
                    }
                }
                #expect(moved?.sqlState == "42501", "the request role updates only a task's working columns")
            }
            try await database.withPool { pool in
                let error = await #expect(throws: PostgresError.self) {
                    try await pool.query("update huifang.client_events set qualifies = false where external_id = 'E-1'")
                }
                #expect(error?.constraint == "client_events_append_only")
                let moved = await #expect(throws: PostgresError.self) {
                    try await pool.query("update huifang.callback_tasks set event_id = null where event_id is not null")
                }
                #expect(moved?.constraint == "callback_tasks_fixed", "not even the owner moves a task off its event")
                // An event rule below 100 % is refused by the floor whatever writes it.
                let floor = await #expect(throws: PostgresError.self) {
                    try await pool.query(
                        """
                        insert into huifang.obligation_rules (code, version, effective_from, title, articles, population, coverage_percent,
                            cadence, due_workdays, owner_role, executor, record_form, event_kind)
                        values ('event_password_reset', 2, current_date + 7, 't', 'Art 10', 'p', 90, 'event', 2, 'ops_director',
                                'call_center', 'special', 'password_reset')
                        """)
                }
                #expect(floor?.constraint == "obligation_rules_floor")
            }
        }
    }

    @Test func theCSVFeedIsAllOrNothingAndResendingItCreatesNothing() async throws {
        try await TestDatabase.with { database in
            _ = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                let header = "external_id,branch_code,client_no,kind,occurred_at,amount,detail\n"
                let good = """
                    F-1,BJ001,C0001,large_asset_movement,2026-07-01 09:00,6500000.00,转出至他行
                    F-2,BJ001,C0001,large_asset_movement,2026-07-01 09:30,200000.00,
                    F-3,SH001,C0001,new_business,2026-07-01 10:00,,开通融资融券

                    """
                let bad = good + "F-4,BJ001,NOPE,password_reset,2026-07-01 11:00,,\nF-5,BJ001,C0001,password_reset,2026-07-01 11:00,5.00,\n"
                let refused = try await Importer(pool: pool).run(
                    .events, file: try CSVFile(data: Data((header + bad).utf8)), source: "core.csv", skipInvalid: false)
                #expect(!refused.applied)
                #expect(refused.rejects.map { "line \($0.line), \($0.column): \($0.reason)" } == [
                    "line 5, client_no: no client with this number in the branch",
                    "line 6, amount: give an amount exactly for a large_asset_movement",
                ])
                let none: Int = try await pool.query("select count(*)::int from huifang.client_events where external_id like 'F-%'").single().decode(0)
                #expect(none == 0)

                let applied = try await Importer(pool: pool).run(
                    .events, file: try CSVFile(data: Data((header + good).utf8)), source: "core.csv", skipInvalid: false)
                #expect(applied.applied && applied.inserted == 3)
                let judged = try await pool.query(
                    """
                    select e.external_id, e.qualifies, (select count(*)::int from huifang.callback_tasks t where t.event_id = e.id)
                    from huifang.client_events e where e.external_id like 'F-%' order by e.external_id
                    """
                ).map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Bool.self)) \(try $0.decode(2, as: Int.self))" }
                // 6.5M reaches the 1M threshold; 200,000 reaches neither it nor half of the 12M snapshot.
                #expect(judged == ["F-1 true 1", "F-2 false 0", "F-3 true 1"])

                let again = try await Importer(pool: pool).run(
                    .events, file: try CSVFile(data: Data((header + good).utf8)), source: "core.csv", skipInvalid: false)
                #expect(again.applied && again.inserted == 0 && again.unchanged == 3)
                let tasks: Int = try await pool.query(
                    "select count(*)::int from huifang.callback_tasks where event_id is not null").single().decode(0)
                #expect(tasks == 2)
            }
        }
    }
}
