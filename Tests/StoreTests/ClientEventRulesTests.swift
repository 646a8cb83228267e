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

    @Test func onlyTheFeedReportsEventsOnlyItsDepartmentsPublishRulesAndNothingIsRewritten() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (ops, center, risk) = (fixture.staff["opsA"]!, fixture.staff["opsCenter"]!, fixture.staff["risk"]!)
            let (centerDepartment, riskDepartment): (Int, Int) = try await database.withPool {
                let row = try await $0.query(
                    "select (select id from huifang.departments where code = 'BOC'), (select id from huifang.departments where code = 'RISK')"
                ).single()
                return (try row.decode(0), try row.decode(1))
            }
            let feed = Access(staffId: center, action: .submitClientEvents, branchIds: [], allBranches: true, organization: false,
                              departmentIds: [centerDepartment])
            try await database.withPool(database.application) { pool in
                func insert(_ access: Access, externalId: String, by staff: Int64) async throws {
                    try await pool.transaction(for: access) {
                        try await $0.execute(
                            """
                            insert into huifang.client_events (branch_id, client_id, external_id, kind, occurred_at, source, received_by)
                            values (\(fixture.branchA), \(fixture.clientA), \(externalId), 'password_reset', '2026-07-01 09:00+08', 'api', \(staff))
                            """)
                    }
                }
                // A branch does not report events (it could take the core system's ids first), nor does
                // the feed in someone else's name or for another action.
                for (access, staff, id) in [
                    (Self.scope(ops, .submitClientEvents, branch: fixture.branchA), ops, "E-branch"),
                    (feed, ops, "E-other-name"),
                    (Access(staffId: center, action: .flagClients, branchIds: [], allBranches: true, organization: false), center, "E-action"),
                ] {
                    let error = await #expect(throws: PostgresError.self) { try await insert(access, externalId: id, by: staff) }
                    #expect(error?.sqlState == "42501", "\(id)")
                }
                try await insert(feed, externalId: "E-1", by: center)
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
                        try await pool.transaction(for: feed) { try await $0.execute(SQL(statement)) }
                    }
                    #expect(error?.sqlState == "42501", "\(statement)")
                }
                let moved = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: Self.scope(ops, .manageTasks, branch: fixture.branchA)) {
                        try await $0.execute("update huifang.callback_tasks set event_id = null where id = \(task)")
                    }
                }
                #expect(moved?.sqlState == "42501", "the request role updates only a task's working columns")

                // Rule versions: a branch cannot publish one (it could raise the movement threshold for
                // every branch), Risk Control only event rules, and the publisher is the database's record.
                func publish(_ access: Access, _ code: String, minAmount: String = "null") async throws -> Int64? {
                    try await pool.transaction(for: access) {
                        try await $0.query(
                            """
                            insert into huifang.obligation_rules (code, version, effective_from, title, articles, population, coverage_percent,
                                cadence, due_workdays, owner_role, executor, record_form, event_kind, min_amount, min_share)
                            select code, version + 1, current_date + 7, title, articles, population, coverage_percent, cadence, due_workdays,
                                   owner_role, executor, record_form, event_kind,
                            """ + " " + SQL(minAmount) + """
                            , min_share
                            from huifang.obligation_rules where code = \(code) order by version desc limit 1
                            returning published_by
                            """
                        ).single().decode(0)
                    }
                }
                let riskScope = Access(staffId: risk, action: .manageEventRules, branchIds: [], allBranches: false, organization: false,
                                       departmentIds: [riskDepartment])
                for (access, code) in [
                    (Self.scope(ops, .writeClients, branch: fixture.branchA), "event_large_asset_movement"),
                    (Self.scope(ops, .manageEventRules, branch: fixture.branchA), "event_large_asset_movement"),
                    (riskScope, "core_monthly"),
                    (Access(staffId: risk, action: .manageRules, branchIds: [], allBranches: false, organization: false,
                            departmentIds: [riskDepartment]), "core_monthly"),
                ] {
                    let error = await #expect(throws: PostgresError.self) { _ = try await publish(access, code, minAmount: "9999999999999999.99") }
                    #expect(error?.sqlState == "42501", "\(access.action) \(code)")
                }
                let naming = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: riskScope) {
                        try await $0.execute(
                            """
                            insert into huifang.obligation_rules (code, version, effective_from, title, articles, population, coverage_percent,
                                cadence, due_workdays, owner_role, executor, record_form, event_kind, published_by)
                            values ('event_agent_change', 2, current_date + 7, 't', 'Art 10', 'p', 100, 'event', 5, 'ops_director', 'branch',
                                    'special', 'agent_change', \(center))
                            """)
                    }
                }
                #expect(naming?.sqlState == "42501", "the publisher is not the caller's to name")
                #expect(try await publish(riskScope, "event_large_asset_movement", minAmount: "500000") == risk)
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

                // The same id with another amount is not the same event sent again.
                let altered = good.replacingOccurrences(of: "200000.00", with: "9000000.00")
                let conflicting = try await Importer(pool: pool).run(
                    .events, file: try CSVFile(data: Data((header + altered).utf8)), source: "core.csv", skipInvalid: false)
                #expect(!conflicting.applied)
                #expect(conflicting.rejects.map { "line \($0.line), \($0.column): \($0.reason)" }
                        == ["line 3, external_id: was received before with another client, kind, time or amount"])

                // A movement on an account that held nothing on its last snapshot reaches any share.
                try await pool.query(
                    """
                    insert into huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets)
                    select branch_id, id, '2026-07-31', 0 from huifang.clients where client_no = 'C0001'
                    """)
                let empty = try await Importer(pool: pool).run(
                    .events, file: try CSVFile(data: Data((header + "F-9,BJ001,C0001,large_asset_movement,2026-08-03 09:00,900000.00,\n").utf8)),
                    source: "core.csv", skipInvalid: false)
                #expect(empty.inserted == 1)
                let judgement: String = try await pool.query(
                    "select judgement from huifang.client_events where external_id = 'F-9' and qualifies").single().decode(0)
                #expect(judgement == "900000.00 CNY moved on an account that held 0.00 CNY on the last snapshot")
            }
        }
    }
}
