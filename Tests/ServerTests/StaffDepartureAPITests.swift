import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

/// Issue 19 A5 over HTTP: the admin endpoints that deactivate a staff member and revoke a grant leave
/// no work assigned to someone who may no longer do it.
@Suite("Staff who leave leave no work assigned to them")
struct StaffDepartureAPITests {
    @Test func deactivatingTheAssigneeSendsTheTaskBackToTheBranchQueue() async throws {
        try await withFixtureApp { api, fixture, database in
            let ops = try await api.token("opsA")
            let admin = try await api.token("admin")
            let rp = fixture.staff["rpA"]!
            let task = try await TaskAPITests.taskA(database, fixture)
            let assigned = try await api.send(.post, "/tasks/\(task)/assign", token: ops, json: ["staffId": rp])
            #expect(assigned.status == .ok, "\(assigned.text)")
            #expect(try assigned.json()["assigneeStaffId"] as? Int == Int(rp))

            let deactivated = try await api.send(.patch, "/staff/\(rp)", token: admin, json: ["status": "inactive"])
            #expect(deactivated.status == .ok, "\(deactivated.text)")

            let after = try await api.send(.get, "/tasks/\(task)", token: ops)
            #expect(after.status == .ok, "\(after.text)")
            #expect(try after.json()["state"] as? String == "open")
            #expect(try after.json()["assigneeStaffId"] == nil)
            let queue = try await api.send(.get, "/tasks?branchId=\(fixture.branchA)&state=open", token: ops)
            let items = try #require(try queue.json()["items"] as? [[String: Any]], "\(queue.text)")
            #expect(items.contains { $0["id"] as? Int == Int(task) })
            // The branch's ops director is told, and the release is on the branch's audit trail.
            let told: Int = try await database.withPool {
                try await $0.query(
                    """
                    select count(*)::int from huifang.notifications
                    where subject_kind = 'callback_task' and subject_id = \(task) and recipient_role = 'ops_director'
                      and recipient_branch_id = \(fixture.branchA) and kind = 'handoff'
                    """
                ).single().decode(0)
            }
            #expect(told == 1)
            let audit = try await api.send(.get, "/audit-events?branchId=\(fixture.branchA)&action=staff.work_released", token: try await api.token("auditor"))
            #expect(audit.status == .ok, "\(audit.text)")
            #expect((try audit.json()["items"] as? [[String: Any]])?.count == 1, "\(audit.text)")
        }
    }

    @Test func revokingTheGrantAClaimedProblemDependsOnUnclaimsIt() async throws {
        try await withFixtureApp { api, fixture, database in
            let center = fixture.staff["opsCenter"]!
            // A compliance problem of branch A, approved to the Brokerage Ops Center and claimed there.
            let problem: Int64 = try await database.withPool { pool in
                try await pool.transaction { db in
                    try await db.query("select set_config('huifang.staff_id', \(String(fixture.staff["rpA"]!)), true)")
                    let id: Int64 = try await db.query(
                        """
                        insert into huifang.problems (branch_id, client_id, category, severity, description)
                        values (\(fixture.branchA), \(fixture.clientA), 'client_complaint', 'medium', '客户投诉交易系统卡顿')
                        returning id
                        """
                    ).single().decode(0)
                    try await db.query("select set_config('huifang.staff_id', \(String(fixture.staff["opsA"]!)), true)")
                    try await db.query("update huifang.problems set state = 'at_hq', last_action = 'approve' where id = \(id)")
                    return id
                }
            }
            let token = try await api.token("opsCenter")
            let before = try await api.send(.get, "/problems/\(problem)", token: token)
            let etag = try #require(before.headers[.eTag], "\(before.text)")
            let claimed = try await api.send(.post, "/problems/\(problem)/claim", token: token, ifMatch: etag)
            #expect(claimed.status == .ok, "\(claimed.text)")

            let grants = try await api.send(.get, "/staff/\(center)/grants", token: try await api.token("admin"))
            let grant = try #require(try grants.jsonArray().first { $0["role"] as? String == "brokerage_ops_center" }?["id"] as? Int)
            let revoked = try await api.send(.delete, "/staff/\(center)/grants/\(grant)", token: try await api.token("admin"))
            #expect(revoked.status == .noContent, "\(revoked.text)")

            let after = try await api.send(.get, "/problems/\(problem)", token: try await api.token("auditor"))
            #expect(after.status == .ok, "\(after.text)")
            let summary = try #require(try after.json()["problem"] as? [String: Any])
            #expect(summary["state"] as? String == "at_hq")
            #expect(summary["assigneeStaffId"] == nil)
            let timeline = try #require(try after.json()["timeline"] as? [[String: Any]])
            #expect(timeline.contains { $0["action"] as? String == "release" })
        }
    }
}
