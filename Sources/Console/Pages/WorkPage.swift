import API
import Domain
import Foundation
import Hummingbird

/// My work: what waits for the signed-in person, each with its clock.
extension Console {
    func registerWork<R: RouterMethods>(_ router: R) {
        page(router, RouterPath(Self.root)) { _, _, visit in try await self.workPage(visit) }
    }

    func workPage(_ visit: Visit) async throws -> Page {
        var sections: [HTML] = []
        if visit.can(.workTasks) {
            let tasks = try await api.listTasks(query: .init(mine: true, state: .active, limit: 100)).ok.body.json.items
            sections.append("<h2>\(visit.t("待办回访任务", "Callback tasks due")) <small class=\"muted\">\(tasks.count)</small></h2>\(try await taskTable(tasks, visit, id: "my-tasks"))")
        }
        if visit.can(.writeRecords) {
            async let drafts = api.listRecords(query: .init(state: .draft, mine: true, limit: 50)).ok.body.json.items
            async let returned = api.listRecords(query: .init(state: .returned, mine: true, limit: 50)).ok.body.json.items
            let mine = try await returned + drafts
            sections.append("<h2>\(visit.t("待我签字的记录", "Records waiting for my signature")) <small class=\"muted\">\(mine.count)</small></h2>\(recordTable(mine, visit, id: "my-drafts"))")
        }
        if visit.can(.signRecords) {
            let waiting = try await api.listRecords(query: .init(awaitingMySignature: true, limit: 100)).ok.body.json.items
            sections.append("<h2>\(visit.t("待我会签的记录", "Records waiting for my countersignature")) <small class=\"muted\">\(waiting.count)</small></h2>\(recordTable(waiting, visit, id: "to-countersign"))")
        }
        if visit.can(.readProblems) && !visit.principal.isFunctionalOnly {
            let problems = try await problemsWaiting(visit)
            sections.append("<h2>\(visit.t("待我处理的问题", "Problems waiting for me")) <small class=\"muted\">\(problems.count)</small></h2>\(problemTable(problems, visit, id: "my-problems"))")
        }
        if visit.can(.answerForwardings) {
            let inbox = try await api.listForwardings(query: .init(limit: 100)).ok.body.json.items
            sections.append("<h2>\(visit.t("待本部门答复的转办", "Forwardings waiting for our answer")) <small class=\"muted\">\(inbox.count)</small></h2>\(forwardingTable(inbox, visit, id: "my-forwardings", actions: false))")
        }
        if sections.isEmpty {
            sections.append("<p class=\"empty\">\(visit.t("您的角色没有待办事项；请使用上方导航。", "Your roles have no queue of their own; use the navigation above."))</p>")
        }
        return Page(title: visit.t("我的工作", "My work"), body: sections.joined(), section: .work)
    }

    /// The problems at a step the person takes (the same queues `NavCounts` counts).
    func problemsWaiting(_ visit: Visit) async throws -> [Components.Schemas.ProblemSummary] {
        if visit.can(.triageProblems) {
            let queue = try await api.listProblems(query: .init(queue: .triage, limit: 100)).ok.body.json.items
            let mine = visit.principal.staffId
            return queue.filter { p in
                p.state == .atHq || p.state == .answered || p.state == .rejected || (p.assigneeStaffId == mine && p.state != .forwarded)
            }
        }
        var waiting: [Components.Schemas.ProblemSummary] = []
        if visit.can(.approveProblems) {
            waiting += try await api.listProblems(query: .init(queue: .branch, state: .raised, limit: 100)).ok.body.json.items
        }
        if visit.can(.raiseProblems) {
            async let info = api.listProblems(query: .init(queue: .raised, state: .infoRequested, limit: 50)).ok.body.json.items
            async let returned = api.listProblems(query: .init(queue: .raised, state: .returned, limit: 50)).ok.body.json.items
            waiting += try await info + returned
        }
        return waiting
    }
}
