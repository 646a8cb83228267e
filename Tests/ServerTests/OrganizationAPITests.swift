import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

@Suite("Organization administration over HTTP")
struct OrganizationAPITests {
    @Test func anAdminBuildsABranchWithStaffWhoCanSignIn() async throws {
        try await withFixtureApp { api, _, _ in
            let admin = try await api.token("admin")
            let branch = try await api.send(.post, "/branches", token: admin, json: ["code": "GZ001", "name": "广州天河营业部", "region": "华南"])
            #expect(branch.status == .created)
            let branchId = try #require(try branch.json()["id"] as? Int)
            #expect(try branch.json()["dormantAfterDays"] as? Int == 180)
            #expect(try branch.json()["coreMinAssets"] as? String == "1000000.00")

            let staff = try await api.send(
                .post, "/staff", token: admin,
                json: ["employeeNo": "gz-ops", "name": "陈营运", "homeBranchId": branchId, "password": "first password 1"])
            #expect(staff.status == .created)
            #expect(!staff.text.contains("first password"))
            let staffId = try #require(try staff.json()["id"] as? Int)
            let grant = try await api.send(
                .post, "/staff/\(staffId)/grants", token: admin, json: ["role": "ops_director", "branchId": branchId])
            #expect(grant.status == .created)
            let grantId = try #require(try grant.json()["id"] as? Int)

            let signIn = try await api.signIn("gz-ops", password: "first password 1")
            #expect(signIn.status == .created)
            let token = try #require(try signIn.json()["token"] as? String)
            let me = try await api.send(.get, "/me", token: token).json()
            #expect((me["grants"] as? [[String: Any]])?.first?["branchId"] as? Int == branchId)

            // Revoking the grant takes effect on the next request; the grant stays on record.
            #expect(try await api.send(.delete, "/staff/\(staffId)/grants/\(grantId)", token: admin).status == .noContent)
            #expect(try await api.send(.get, "/clients", token: token).status == .forbidden)
            let grants = try await api.send(.get, "/staff/\(staffId)/grants", token: admin)
            #expect((try JSONSerialization.jsonObject(with: Data(grants.text.utf8)) as? [[String: Any]])?.first?["revokedAt"] != nil)

            // Deactivating the staff member ends their sessions.
            let inactive = try await api.send(.patch, "/staff/\(staffId)", token: admin, json: ["status": "inactive"])
            #expect(inactive.status == .ok)
            #expect(try await api.send(.get, "/me", token: token).status == .unauthorized)
            #expect(try await api.signIn("gz-ops", password: "first password 1").status == .unauthorized)
        }
    }

    @Test func grantsMustFitTheRoleScopeAndDepartmentKind() async throws {
        try await withFixtureApp { api, fixture, database in
            let admin = try await api.token("admin")
            let staffId = fixture.staff["deskA"]!
            let noBranch = try await api.send(.post, "/staff/\(staffId)/grants", token: admin, json: ["role": "ops_director"])
            #expect(noBranch.status.code == 422)
            // Department 3 is IT (functional): it cannot hold the call-center role.
            let itDepartment: Int = try await database.withPool {
                try await $0.query("select id from huifang.departments where code = 'IT'").single().decode(0)
            }
            let wrongKind = try await api.send(
                .post, "/staff/\(staffId)/grants", token: admin, json: ["role": "call_center", "departmentId": itDepartment])
            #expect(wrongKind.status.code == 422)
            #expect(try wrongKind.problem().detail?.contains("role_grants_department_kind") == true)
            let duplicate = try await api.send(
                .post, "/staff/\(staffId)/grants", token: admin, json: ["role": "front_desk", "branchId": fixture.branchA])
            #expect(duplicate.status == .conflict)
        }
    }

    @Test func branchStaffCannotAdministerAndSeeOnlyTheirBranchsStaff() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            #expect(
                try await api.send(.post, "/staff", token: ops, json: ["employeeNo": "x1", "name": "x", "homeBranchId": fixture.branchA, "password": "long enough pw"]).status
                    == .forbidden)
            #expect(try await api.send(.patch, "/branches/\(fixture.branchA)", token: ops, json: ["name": "x"]).status == .forbidden)
            let list = try await api.send(.get, "/staff?limit=500", token: ops).json()
            let branches = Set((list["items"] as? [[String: Any]] ?? []).compactMap { $0["homeBranchId"] as? Int })
            #expect(branches == [fixture.branchA])
            #expect(try await api.send(.get, "/staff/\(fixture.staff["deskB"]!)", token: ops).status == .notFound)
            // Everyone may read the organization chart.
            let chart = try await api.send(.get, "/branches", token: ops)
            #expect((try JSONSerialization.jsonObject(with: Data(chart.text.utf8)) as? [Any])?.count == 2)
        }
    }
}
