import Domain
import Testing

@Suite("Obligations in the domain: periods, task transitions, who directs a task")
struct ObligationDomainTests {
    @Test func periodLabelsParseToTheirRanges() throws {
        let month = try #require(Period("2026-02"))
        #expect(month.start == (2026, 2, 1) && month.end == (2026, 3, 1))
        let half = try #require(Period("2026-H2"))
        #expect(half.months.map(\.description) == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"])
        #expect(try #require(Period("2026-12-31")).end == (2027, 1, 1))
        #expect(Period("2024-02-29") != nil && Period("2026-02-29") == nil)
        #expect(Period.month(2026, 11).halfYear.description == "2026-H2" && Period.month(2026, 3).halfYear.description == "2026-H1")
        for bad in ["2026-13", "2026-H3", "26-11", "2026-1", "2026/11", "", "2026-11-5"] { #expect(Period(bad) == nil, "\(bad)") }
    }

    @Test func closedTasksGoNowhereAndCompletionNeedsAStart() {
        for state in TaskState.allCases where state.isClosed {
            for action in TaskAction.allCases { #expect(TaskTransitions.next(from: state, action) == nil) }
        }
        #expect(TaskTransitions.next(from: .open, .complete) == nil)
        #expect(TaskTransitions.next(from: .assigned, .complete) == nil)
        #expect(TaskTransitions.next(from: .inProgress, .complete) == .completed)
        #expect(TaskTransitions.next(from: .inProgress, .assign) == .assigned)
    }

    @Test func theOwningDirectorOrTheExecutingCallCenterDirectsATask() {
        let ops = [RoleGrant(role: .opsDirector, branchId: 3)]
        let marketing = [RoleGrant(role: .marketingDirector, branchId: 3)]
        #expect(TaskAuthority.canManage(ownerRole: "ops_director", branchId: 3, ownerDepartmentId: nil, executorDepartmentId: nil, grants: ops))
        #expect(!TaskAuthority.canManage(ownerRole: "ops_director", branchId: 4, ownerDepartmentId: nil, executorDepartmentId: nil, grants: ops))
        #expect(!TaskAuthority.canManage(ownerRole: "marketing_director", branchId: 3, ownerDepartmentId: nil, executorDepartmentId: nil, grants: ops))
        #expect(TaskAuthority.canManage(ownerRole: "marketing_director", branchId: 3, ownerDepartmentId: nil, executorDepartmentId: nil, grants: marketing))
        let callCenter = [RoleGrant(role: .callCenter, departmentId: 9)]
        #expect(TaskAuthority.canManage(ownerRole: "sales_trading_hq", branchId: 3, ownerDepartmentId: 1, executorDepartmentId: 9, grants: callCenter))
        #expect(!TaskAuthority.canManage(ownerRole: "sales_trading_hq", branchId: 3, ownerDepartmentId: 1, executorDepartmentId: 8, grants: callCenter))
        // A branch director does not direct the call center's work in their branch.
        #expect(!TaskAuthority.canManage(ownerRole: "sales_trading_hq", branchId: 3, ownerDepartmentId: 1, executorDepartmentId: 9, grants: ops))
    }

    @Test func theCallCenterReachesItsDepartmentsWorkNotTheBranches() throws {
        let agent = Principal(staffId: 5, employeeNo: "c", name: "c", grants: [.init(role: .callCenter, departmentId: 9)])
        let work = try #require(agent.access(for: .workTasks))
        #expect(work.departmentIds == [9] && work.branchIds.isEmpty && !work.allBranches)
        #expect(agent.access(for: .manageDirectives) == nil)
        let hq = Principal(staffId: 6, employeeNo: "s", name: "s", grants: [.init(role: .salesTradingHQ, departmentId: 1)])
        let issue = try #require(hq.access(for: .manageDirectives))
        #expect(issue.allBranches && issue.departmentIds == [1])
        let desk = Principal(staffId: 7, employeeNo: "d", name: "d", grants: [.init(role: .frontDesk, branchId: 3)])
        #expect(desk.access(for: .workTasks)?.branchIds == [3])
        #expect(desk.access(for: .manageTasks) == nil)
    }
}
