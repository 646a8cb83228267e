import Domain
import Testing

@Suite("Roles and their scopes (BRIEF §1)")
struct RoleTests {
    @Test func branchRolesAreScopedToABranch() {
        let branchRoles = Role.allCases.filter { $0.scope == .branch }
        #expect(Set(branchRoles) == [.responsiblePerson, .opsDirector, .marketingDirector, .frontDesk, .branchManager])
    }

    @Test func onlyDirectorsCountersignAndAdminsNever() {
        #expect(Role.allCases.filter(\.mayCountersign) == [.opsDirector, .marketingDirector])
        #expect(!Role.admin.mayCountersign)
    }

    @Test func identifiersAreTheOnesTheBriefFixes() {
        #expect(Role(rawValue: "responsible_person") == .responsiblePerson)
        #expect(Role(rawValue: "risk_control_hq") == .riskControlHQ)
        #expect(Role.allCases.count == 12)
        #expect(Role.opsDirector.chineseTitle == "营运总监")
    }
}
