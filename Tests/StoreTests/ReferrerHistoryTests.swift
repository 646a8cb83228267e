import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// Art 4 as a branch that wants its introducer to do the callback would try it: change or clear the
/// referrer first, or move the broker to someone else. The history keeps everyone who ever referred
/// the client, and the database's recusal checks read it.
@Suite("Referrer history: append-only, audited, and recusal of anyone who ever referred the client")
struct ReferrerHistoryTests {
    static func scope(_ staff: Int64, _ action: Action, branch: Int) -> Access {
        Access(staffId: staff, action: action, branchIds: [branch], allBranches: false, organization: false)
    }

    @Test func clearingTheReferrerOrMovingTheBrokerLeavesEveryPastReferrerRecused() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (rp, desk, ops, mkt) = (fixture.staff["rpA"]!, fixture.staff["deskA"]!, fixture.staff["opsA"]!, fixture.staff["mktA"]!)
            // rpA introduced the client, through broker A behind whom deskA stood.
            try await database.withPool { pool in
                try await pool.transaction(settings: [("huifang.reason", "开户资料")]) {
                    try await $0.execute("update huifang.clients set referrer_staff_id = \(rp) where id = \(fixture.clientA)")
                    try await $0.execute("update huifang.brokers set staff_id = \(desk) where id = \(fixture.brokerA)")
                }
            }
            try await database.withPool(database.application) { pool in
                let change = Self.scope(ops, .changeReferrer, branch: fixture.branchA)
                // Without a reason the change is refused.
                let silent = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: change) {
                        try await $0.execute(
                            "update huifang.clients set referrer_staff_id = null, referrer_broker_id = null where id = \(fixture.clientA)")
                    }
                }
                #expect(silent?.constraint == "client_referrers_reason")
                try await pool.transaction(settings: change.databaseSettings + [("huifang.reason", "录入错误，更正")]) {
                    try await $0.execute(
                        "update huifang.clients set referrer_staff_id = null, referrer_broker_id = null where id = \(fixture.clientA)")
                }
            }
            // The broker's desk moves to someone else as well.
            try await database.withPool { _ = try await $0.query("update huifang.brokers set staff_id = \(mkt) where id = \(fixture.brokerA)") }

            let task = try await database.withPool { try await fixture.newAccountTaskA(in: $0) }
            try await database.withPool(database.application) { pool in
                let manage = Self.scope(ops, .manageTasks, branch: fixture.branchA)
                for pastReferrer in [rp, desk] {
                    let error = await #expect(throws: PostgresError.self) {
                        try await pool.transaction(for: manage) {
                            try await $0.execute(
                                "update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(pastReferrer) where id = \(task)")
                        }
                    }
                    #expect(error?.constraint == "callback_tasks_recusal", "staff \(pastReferrer) referred the client once")
                }
                // Someone who never referred the client may take it.
                try await pool.transaction(for: manage) {
                    try await $0.execute("update huifang.callback_tasks set state = 'assigned', assignee_staff_id = \(mkt) where id = \(task)")
                }

                // The branch reads the history: three periods, all ended, the last with its reason.
                let read = Self.scope(ops, .readClients, branch: fixture.branchA)
                let history = try await pool.transaction(for: read) {
                    try await $0.query(
                        """
                        select referrer_staff_id, broker_staff_id, valid_until is not null, end_reason, ended_by
                        from huifang.client_referrers where client_id = \(fixture.clientA) order by valid_from, id
                        """
                    ).map { row -> [String] in
                        [try row.decode(0, as: Int64?.self).map(String.init) ?? "-", try row.decode(1, as: Int64?.self).map(String.init) ?? "-",
                         String(try row.decode(2, as: Bool.self)), try row.decode(3, as: String?.self) ?? "-",
                         try row.decode(4, as: Int64?.self).map(String.init) ?? "-"]
                    }
                }
                #expect(history.count == 3)
                #expect(history.last == [String(rp), String(desk), "true", "录入错误，更正", String(ops)])
                #expect(history.allSatisfy { $0[2] == "true" })

                // Another branch sees none of it.
                let other = Self.scope(fixture.staff["opsB"]!, .readClients, branch: fixture.branchB)
                let seen: Int = try await pool.transaction(for: other) {
                    try await $0.query("select count(*)::int from huifang.client_referrers where client_id = \(fixture.clientA)").single().decode(0)
                }
                #expect(seen == 0)

                // The request role cannot write the history in any way, nor ask whether someone referred a client.
                for statement in [
                    "insert into huifang.client_referrers (branch_id, client_id, referrer_staff_id, valid_from, reason) values (\(fixture.branchA), \(fixture.clientA), \(mkt), now(), 'x')",
                    "update huifang.client_referrers set referrer_staff_id = null where client_id = \(fixture.clientA)",
                    "delete from huifang.client_referrers where client_id = \(fixture.clientA)",
                    "select huifang.ever_referred(\(fixture.branchA), \(fixture.clientA), \(rp))",
                ] {
                    let error = await #expect(throws: PostgresError.self) {
                        try await pool.transaction(for: Self.scope(ops, .changeReferrer, branch: fixture.branchA)) { try await $0.execute(SQL(statement)) }
                    }
                    #expect(error?.sqlState == "42501", "\(statement)")
                }
            }

            // Not even the owner rewrites it; the change was audited with old and new referrers.
            try await database.withPool { pool in
                for statement in [
                    "update huifang.client_referrers set reason = 'x' where client_id = \(fixture.clientA)",
                    "delete from huifang.client_referrers where client_id = \(fixture.clientA)",
                ] {
                    let error = await #expect(throws: PostgresError.self) { try await pool.query(SQL(statement)) }
                    #expect(error?.constraint == "client_referrers_append_only", "\(statement)")
                }
                let audit = try await pool.query(
                    """
                    select detail #>> '{old,staffId}', detail #>> '{old,brokerStaffId}', detail -> 'new' ->> 'staffId', reason, actor_staff_id
                    from huifang.audit_events
                    where action = 'client.referrer_changed' and object_id = \(String(fixture.clientA)) and reason = '录入错误，更正'
                    """
                ).single()
                #expect(try audit.decode(0, as: String?.self) == String(rp))
                #expect(try audit.decode(1, as: String?.self) == String(desk))
                #expect(try audit.decode(2, as: String?.self) == nil)
                #expect(try audit.decode(4, as: Int64?.self) == ops)
            }
        }
    }
}
