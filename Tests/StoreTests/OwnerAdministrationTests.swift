import Domain
import Postgres
import Store
import Testing
import TestSupport

@Suite("Operator set-up of sign-in (huifang staff …)")
struct OwnerAdministrationTests {
    @Test func grantsByCodeOnceAndRefusesAMismatchedScope() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                _ = try await OrganizationFixture.load(into: pool)
                let admin = OwnerAdministration(pool: pool)
                #expect(try await admin.grant(employeeNo: "deskB", role: .marketingDirector, branchCode: "SH001", departmentCode: nil))
                #expect(try await admin.grant(employeeNo: "deskB", role: .marketingDirector, branchCode: "SH001", departmentCode: nil) == false)
                await #expect(throws: OwnerAdministration.GrantError.self) {
                    try await admin.grant(employeeNo: "deskB", role: .auditor, branchCode: "SH001", departmentCode: nil)
                }
                await #expect(throws: OwnerAdministration.GrantError.self) {
                    try await admin.grant(employeeNo: "ghost", role: .frontDesk, branchCode: "SH001", departmentCode: nil)
                }
                let grants: Int = try await pool.query(
                    """
                    select count(*) from huifang.role_grants g join huifang.staff s on s.id = g.staff_id
                    where s.employee_no = 'deskB' and g.revoked_at is null
                    """
                ).single().decode(0)
                #expect(grants == 2)
            }
        }
    }

    @Test func settingAPasswordRevokesLiveSessions() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let fixture = try await OrganizationFixture.load(into: pool)
                let staff = fixture.staff["opsB"]!
                try await pool.query(
                    "insert into huifang.sessions (token_hash, staff_id, expires_at) values (sha256('t'), \(staff), now() + interval '1 hour')")
                #expect(try await OwnerAdministration(pool: pool).setPassword(employeeNo: "opsB", hash: OrganizationFixture.passwordHash))
                #expect(try await OwnerAdministration(pool: pool).setPassword(employeeNo: "ghost", hash: OrganizationFixture.passwordHash) == false)
                let reason: String? = try await pool.query("select revoked_reason from huifang.sessions").single().decode(0)
                #expect(reason == "admin")
            }
        }
    }
}
