import Domain
import Testing

@Suite("Permission matrix and personal-data masks")
struct PermissionMatrixTests {
    @Test func adminsManageTheOrganizationButReachNoBranchRecords() {
        let admin = Principal(staffId: 1, employeeNo: "a", name: "a", grants: [.init(role: .admin, departmentId: 9)])
        #expect(admin.access(for: .manageOrganization)?.organization == true)
        for action in [Action.readClients, .writeClients, .revealPersonalData, .readBrokers, .writeAssetSnapshots] {
            #expect(admin.access(for: action) == nil, "admin reaches \(action)")
        }
    }

    @Test func branchRolesReachOnlyTheBranchOfTheirGrant() throws {
        let person = Principal(
            staffId: 2, employeeNo: "p", name: "p",
            grants: [.init(role: .frontDesk, branchId: 3), .init(role: .opsDirector, branchId: 7)])
        let write = try #require(person.access(for: .writeClients))
        #expect(write.branchIds == [3, 7])
        #expect(!write.allBranches)
        // Only the ops director grant carries the referrer right, so only its branch.
        #expect(person.access(for: .changeReferrer)?.branchIds == [7])
        #expect(person.access(for: .manageOrganization) == nil)
    }

    @Test func hqReadersReadEveryBranchAndWriteNone() {
        for role in [Role.salesTradingHQ, .callCenter, .brokerageOpsCenter, .riskControlHQ, .auditor] {
            let hq = Principal(staffId: 3, employeeNo: "h", name: "h", grants: [.init(role: role, departmentId: 1)])
            #expect(hq.access(for: .readClients)?.allBranches == true, "\(role)")
            #expect(hq.access(for: .writeClients) == nil, "\(role)")
            #expect(hq.access(for: .writeAssetSnapshots) == nil, "\(role)")
        }
        let functional = Principal(staffId: 4, employeeNo: "f", name: "f", grants: [.init(role: .functionalDept, departmentId: 2)])
        #expect(functional.access(for: .readClients) == nil)
    }

    @Test func onlyLeadersAndTheFrontDeskOpenAccounts() {
        let writers = Role.allCases.filter { PermissionMatrix.reach($0, .writeClients) != .none }
        #expect(Set(writers) == [.opsDirector, .frontDesk])
    }

    @Test func masksKeepOnlyTheEnds() {
        #expect(PersonalDataMask.idNumber("110101199003074578") == "110***********4578")
        #expect(PersonalDataMask.phone("13812345678") == "138****5678")
        #expect(PersonalDataMask.phone("12345") == "***45")
        #expect(PersonalDataMask.idNumber("E12") == "***")
        #expect(!PersonalDataMask.idNumber("G12345678").contains("2345"))
    }
}
