import API
import Domain
import Foundation
import Hummingbird

/// Problems: the queues (an HQ department's triage queue, unclaimed first then by deadline; a
/// branch's; what I raised), raising one for a client, and one problem with every clock, its
/// forwardings, relays and timeline, and the steps its state allows. Every step sends the ETag of
/// the version the page showed, so a stale page is told "changed by someone else — reload".
extension Console {
    func registerProblems<R: RouterMethods>(_ router: R) {
        page(router, RouterPath(Self.root + "/problems")) { request, _, visit in
            try await self.problemsPage(FormData(request.uri.query ?? ""), visit)
        }
        page(router, RouterPath(Self.root + "/problems/:id")) { _, context, visit in
            try await self.problemPage(try context.parameters.require("id", as: Int64.self), visit)
        }
        action(router, RouterPath(Self.root + "/problems")) { _, _, visit, form in
            return try await self.perform(visit, {
                let body = try self.checked("raiseProblem", Components.Schemas.RaiseProblemInput(
                    clientId: try form.requiredInt64("clientId"),
                    category: try choice(form["category"], "category"), severity: try choice(form["severity"], "severity"),
                    description: try required(form["description"], "description")))
                let raised = try await self.api.raiseProblem(body: .json(body)).created.body.json.problem.id
                return "\(Self.root)/problems/\(raised)"
            }, otherwise: { _ in try await self.problemsPage(FormData(""), visit) })
        }
        action(router, RouterPath(Self.root + "/problems/:id/:step")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            let step = try context.parameters.require("step")
            return try await self.perform(visit, then: "\(Self.root)/problems/\(id)") {
                try await self.takeStep(step, of: id, form)
            } otherwise: { _ in try await self.problemPage(id, visit) }
        }
    }

    /// One step of a problem through its API operation, with the ETag the page was rendered with.
    private func takeStep(_ step: String, of id: Int64, _ form: FormData) async throws {
        let etag = form["etag"]
        let path = Operations.ApproveProblem.Input.Path(problemId: id)
        func text(_ operation: String) throws -> Components.Schemas.TextInput {
            try checked(operation, Components.Schemas.TextInput(text: try required(form["text"], "text")))
        }
        func reason(_ operation: String) throws -> Components.Schemas.Reason {
            try checked(operation, Components.Schemas.Reason(reason: try required(form["reason"], "reason")))
        }
        switch step {
        case "approve": _ = try await api.approveProblem(path: path, headers: .init(ifMatch: etag)).ok
        case "return": _ = try await api.returnProblem(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(try reason("returnProblem"))).ok
        case "resubmit":
            _ = try await api.resubmitProblem(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(.init(text: form.text("text")))).ok
        case "claim": _ = try await api.claimProblem(path: .init(problemId: id), headers: .init(ifMatch: etag)).ok
        case "assign":
            let staff = try form.requiredInt64("staffId")
            _ = try await api.assignProblem(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(.init(staffId: staff))).ok
        case "forward":
            let departments = form.all("departmentIds").compactMap { Int32($0) }
            let body = try checked("forwardProblem", Components.Schemas.ForwardInput(departmentIds: departments, note: form.text("note")))
            _ = try await api.forwardProblem(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(body)).ok
        case "resolve": _ = try await api.resolveProblem(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(try text("resolveProblem"))).ok
        case "request-info":
            _ = try await api.requestProblemInfo(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(try text("requestProblemInfo"))).ok
        case "provide-info":
            _ = try await api.provideProblemInfo(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(try text("provideProblemInfo"))).ok
        case "reject": _ = try await api.rejectProblem(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(try reason("rejectProblem"))).ok
        case "accept", "ask-again":
            let forwarding = try form.requiredInt64("forwardingId")
            if step == "accept" {
                _ = try await api.acceptForwardingAnswer(
                    path: .init(problemId: id, forwardingId: forwarding), headers: .init(ifMatch: etag), body: .json(.init(text: form.text("text")))).ok
            } else {
                _ = try await api.askForwardingAgain(
                    path: .init(problemId: id, forwardingId: forwarding), headers: .init(ifMatch: etag), body: .json(try text("askForwardingAgain"))).ok
            }
        case "relay":
            let body = try checked("relayProblem", Components.Schemas.RelayInput(
                recipient: try choice(form["recipient"], "recipient"), channel: try choice(form["channel"], "channel"), note: form.text("note")))
            _ = try await api.relayProblem(path: .init(problemId: id), headers: .init(ifMatch: etag), body: .json(body)).ok
        case "reopen":
            _ = try await api.reopenProblem(path: .init(problemId: id), body: .json(try reason("reopenProblem"))).created
        default:
            throw ConsoleFailure(status: 404, title: "Not found")
        }
    }

    func problemsPage(_ query: FormData, _ visit: Visit) async throws -> Page {
        let hq = visit.can(.triageProblems)
        let queue = query["queue"] ?? (hq ? "triage" : "branch")
        var tabs: [(String, String, String)] = []
        if hq {
            tabs = [("triage", "", visit.t("受理队列", "Triage queue")), ("triage", "mine=1", visit.t("我负责的", "Mine")),
                    ("triage", "relay=1", visit.t("待反馈", "To relay")), ("triage", "closed=1", visit.t("已办结", "Closed"))]
        } else {
            tabs = [("branch", "", visit.t("本营业部进行中", "Open in my branch")), ("branch", "state=raised", visit.t("待审批", "Awaiting approval")),
                    ("raised", "", visit.t("我提出的", "Raised by me")), ("branch", "closed=1", visit.t("已办结", "Closed"))]
        }
        let mine = query["mine"] == "1", relay = query["relay"] == "1", closed = query["closed"] == "1"
        let state = query["state"].flatMap(Components.Schemas.ProblemState.init(rawValue:))
        let listQueue = Operations.ListProblems.Input.Query.QueuePayload(rawValue: queue) ?? .branch
        var problems = try await api.listProblems(query: .init(
            queue: listQueue, state: closed ? .closed : state, open: closed ? false : nil, mine: mine ? true : nil, limit: 100)).ok.body.json.items
        if relay { problems = problems.filter { $0.state == .answered || $0.state == .rejected } }
        if listQueue == .triage && !mine && !relay && !closed {
            // Unclaimed first, then by deadline (the order the API lists them in).
            problems = problems.filter { $0.state == .atHq } + problems.filter { $0.state != .atHq }
        }
        let current = "queue=\(queue)" + (mine ? "&mine=1" : "") + (relay ? "&relay=1" : "") + (closed ? "&closed=1" : "") + (state.map { "&state=\($0.rawValue)" } ?? "")
        let links: [HTML] = tabs.map { tab in
            let href = "queue=\(tab.0)" + (tab.1.isEmpty ? "" : "&\(tab.1)")
            return "<a href=\"\(Self.root)/problems?\(href)\"\(href == current ? HTML(raw: " class=\"current\"") : .empty)>\(tab.2)</a>"
        }
        var body: HTML = "<div class=\"tabs\">\(links)</div>" + problemTable(problems, visit, id: "problems")
        if visit.can(.raiseProblems) {
            let categories = ["client_complaint", "service_need", "product_need", "system_issue", "compliance_risk", "data_error", "other"]
            body = body + """
                <h2>\(visit.t("为客户提出问题", "Raise a problem for a client"))</h2>
                <p class="muted">\(visit.t("回访中发现的问题请在回访记录的“发现”中提出。", "Findings of a callback are raised from the record's findings."))</p>
                <div class="actions"><form method="post" action="\(Self.root)/problems" id="raise-problem">\(visit.formTokenField)
                <label>\(visit.t("客户 ID", "Client id")) <input type="number" name="clientId" required></label>
                <select name="category">\(Widgets.options(categories, visit))</select><select name="severity">\(Widgets.options(["low", "medium", "high"], selected: "medium", visit))</select>
                <input type="text" name="description" placeholder="\(visit.t("描述", "Description"))" maxlength="2000" required>
                <button type="submit">\(visit.t("提出", "Raise"))</button></form></div>
                """
        }
        return Page(title: visit.t("问题", "Problems"), body: body, section: .problems)
    }

    func problemPage(_ id: Int64, _ visit: Visit) async throws -> Page {
        let detail = try await api.getProblem(path: .init(problemId: id)).ok.body.json
        let problem = detail.problem
        let etag: [(String, String)] = [("etag", problem.etag)]
        let base = "\(Self.root)/problems/\(id)"
        let state = ProblemState(rawValue: problem.state.rawValue)
        func allowed(_ action: ProblemAction) -> Bool { state.flatMap { ProblemTransitions.step(from: $0, action) } != nil }

        var body: [HTML] = []
        body.append("""
            <div class="panel">\(Widgets.facts([
                (visit.t("状态", "State"), Labels.badge(problem.state.rawValue, visit)),
                (visit.t("营业部", "Branch"), "\(problem.branchCode)"),
                (visit.t("客户", "Client"), problem.clientNo.map { no in Widgets.link("\(Self.root)/clients/\(problem.clientId)", "\(no) \(problem.clientName ?? "")") } ?? "—"),
                (visit.t("类别", "Category"), "\(Labels.word(problem.category.rawValue, visit))"),
                (visit.t("级别", "Severity"), "\(Labels.word(problem.severity.rawValue, visit))"),
                (visit.t("来源", "From"), problem.recordId.map { Widgets.link("\(Self.root)/records/\($0)", visit.t("回访记录 #\($0)", "record #\($0)")) } ?? "\(Labels.word(problem.via.rawValue, visit))"),
                (visit.t("总部部门", "HQ department"), "\(problem.departmentCode ?? "—")"),
                (visit.t("提出时间", "Raised"), Widgets.time(problem.raisedAt)),
                (visit.t("15 个工作日时限", "15-working-day clock"), Widgets.clock(problem.clock, visit)),
            ]))
            <p>\(problem.description)</p>
            \([("退回原因", "Returned because", problem.returnReason), ("要求补充", "Information requested", problem.infoRequest),
               ("补充信息", "Information given", problem.infoReply), ("答复", "Answer", problem.resolution), ("驳回理由", "Rejected because", problem.rejectionReason)]
                .compactMap { label in label.2.map { "<p><strong>\(visit.t(label.0, label.1))：</strong>\($0)</p>" as HTML } })
            </div>
            """)

        var actions: [HTML] = []
        if visit.can(.approveProblems) && allowed(.approve) {
            actions.append(Widgets.button("\(base)/approve", visit.t("审批通过，报送总部", "Approve and send to HQ"), visit, hidden: etag, primary: true, id: "approve-problem"))
            actions.append(textStep(base, "return", "reason", visit.t("退回原因", "Reason"), visit.t("退回", "Return"), visit, etag))
        }
        if visit.can(.raiseProblems) && allowed(.resubmit) && problem.raisedBy == visit.principal.staffId {
            actions.append(textStep(base, "resubmit", "text", visit.t("修改后的描述（可选）", "Revised description (optional)"), visit.t("重新提交", "Resubmit"), visit, etag, optional: true))
        }
        if visit.can(.raiseProblems) && allowed(.provideInfo) {
            actions.append(textStep(base, "provide-info", "text", visit.t("补充的信息", "The information"), visit.t("补充信息", "Provide information"), visit, etag))
        }
        if visit.can(.triageProblems) && problem.departmentId.map({ visit.principal.grants.compactMap(\.departmentId).contains(Int($0)) }) == true {
            if allowed(.claim) && problem.state == .atHq {
                actions.append(Widgets.button("\(base)/claim", visit.t("认领", "Claim"), visit, hidden: etag, primary: true, id: "claim-problem"))
            }
            if allowed(.assign), let department = problem.departmentId,
               let staff = try? await api.listStaff(query: .init(departmentId: department, status: .active, limit: 100)).ok.body.json.items, !staff.isEmpty {
                let options: [HTML] = staff.map { "<option value=\"\($0.id)\"\(Int64($0.id) == problem.assigneeStaffId ? HTML(raw: " selected") : .empty)>\($0.name) \($0.employeeNo)</option>" }
                actions.append("<form method=\"post\" action=\"\(base)/assign\">\(visit.formTokenField)<input type=\"hidden\" name=\"etag\" value=\"\(problem.etag)\"><select name=\"staffId\">\(options)</select><button type=\"submit\">\(visit.t("指派", "Assign"))</button></form>")
            }
            if allowed(.forward) && problem.state != .forwarded {
                let departments = try await api.listDepartments().ok.body.json.filter { $0.kind == .functional && $0.status == .active }
                let boxes: [HTML] = departments.map { "<label><input type=\"checkbox\" name=\"departmentIds\" value=\"\($0.id)\"> \($0.name) <span class=\"muted\">\($0.code)</span></label>" }
                actions.append("""
                    <form method="post" action="\(base)/forward" id="forward-form">\(visit.formTokenField)<input type="hidden" name="etag" value="\(problem.etag)">
                    <strong>\(visit.t("转办职能部门", "Forward to"))</strong> \(boxes)
                    <input type="text" name="note" placeholder="\(visit.t("转办说明", "Note"))" maxlength="2000">
                    <button type="submit" class="primary" id="forward-problem">\(visit.t("转办", "Forward"))</button></form>
                    """)
            }
            if allowed(.resolve) && problem.state != .forwarded {
                actions.append(textStep(base, "resolve", "text", visit.t("总部直接答复", "HQ's own answer"), visit.t("答复", "Resolve"), visit, etag))
            }
            if allowed(.requestInfo) && problem.state != .forwarded {
                actions.append(textStep(base, "request-info", "text", visit.t("需要营业部补充什么", "What the branch should add"), visit.t("要求补充信息", "Request information"), visit, etag))
            }
            if allowed(.reject) && problem.state != .forwarded {
                actions.append(textStep(base, "reject", "reason", visit.t("驳回理由", "Reason"), visit.t("驳回", "Reject"), visit, etag))
            }
            for forwarding in detail.forwardings where forwarding.state == .answered {
                actions.append("""
                    <form method="post" action="\(base)/accept">\(visit.formTokenField)<input type="hidden" name="etag" value="\(problem.etag)"><input type="hidden" name="forwardingId" value="\(forwarding.id)">
                    <strong>\(forwarding.departmentCode)</strong> <input type="text" name="text" placeholder="\(visit.t("意见（可选）", "Note (optional)"))" maxlength="4000">
                    <button type="submit" class="primary" id="accept-\(forwarding.id)">\(visit.t("采纳答复", "Accept the answer"))</button></form>
                    <form method="post" action="\(base)/ask-again">\(visit.formTokenField)<input type="hidden" name="etag" value="\(problem.etag)"><input type="hidden" name="forwardingId" value="\(forwarding.id)">
                    <input type="text" name="text" placeholder="\(visit.t("需要重新答复的原因", "What is missing"))" maxlength="4000" required>
                    <button type="submit">\(visit.t("要求重新答复", "Ask again"))</button></form>
                    """)
            }
            if problem.state == .answered || problem.state == .rejected {
                let done = Set(detail.relays.map(\.recipient.rawValue))
                let remaining = ["branch_leader", "responsible_person", "client"].filter { !done.contains($0) }
                if let next = remaining.first {
                    actions.append("""
                        <form method="post" action="\(base)/relay" id="relay-form">\(visit.formTokenField)<input type="hidden" name="etag" value="\(problem.etag)">
                        <strong>\(visit.t("反馈给", "Relay to"))</strong> <select name="recipient">\(Widgets.options(remaining, selected: next, visit))</select>
                        <select name="channel">\(Widgets.options(["phone", "sms", "email", "letter", "visit", "meeting", "system", "other"], visit))</select>
                        <input type="text" name="note" placeholder="\(visit.t("备注", "Note"))" maxlength="2000">
                        <button type="submit" class="primary" id="relay-problem">\(visit.t("记录反馈", "Record the relay"))</button></form>
                        """)
                }
            }
        }
        if visit.can(.raiseProblems) && problem.state == .closed && problem.raisedBy == visit.principal.staffId {
            actions.append(textStep(base, "reopen", "reason", visit.t("重新打开的原因", "Why reopen"), visit.t("重新打开", "Reopen"), visit, etag))
        }
        if !actions.isEmpty { body.append("<h2>\(visit.t("处理", "Steps"))</h2><div class=\"actions\">\(actions)</div>") }

        body.append("<h2>\(visit.t("转办与答复", "Forwardings and answers"))</h2>")
        let forwardingRows: [[HTML]] = detail.forwardings.map { f in
            ["\(f.departmentCode)", Widgets.time(f.receivedAt), Labels.badge(f.state.rawValue, visit), Widgets.clock(f.clock, visit),
             "\(f.answer ?? f.suggestion ?? "")", "\(f.reviewNote ?? "")"]
        }
        body.append(Widgets.table(
            [visit.t("部门", "Department"), visit.t("收到", "Received"), visit.t("状态", "State"), visit.t("2 个工作日时限", "2-day clock"),
             visit.t("答复", "Answer"), visit.t("总部意见", "HQ's note")], forwardingRows, empty: visit.t("尚未转办。", "Not forwarded."), id: "forwardings"))
        let relayRows: [[HTML]] = detail.relays.map { ["\(Labels.word($0.recipient.rawValue, visit))", "\(Labels.word($0.channel, visit))", Widgets.time($0.relayedAt), "\($0.note ?? "")"] }
        body.append("<h2>\(visit.t("反馈", "Relays"))</h2>" + Widgets.table(
            [visit.t("对象", "To"), visit.t("方式", "Channel"), visit.t("时间", "When"), visit.t("备注", "Note")], relayRows,
            empty: visit.t("尚未反馈。", "Not relayed yet."), id: "relays"))
        let events: [HTML] = detail.timeline.map { event in
            let move: HTML = event.toState.map { " → \(Labels.word($0, visit))" } ?? .empty
            return "<li><time>\(ShanghaiTime.minute(event.at))</time><strong>\(Labels.word(event.action, visit))</strong>\(move)</li>"
        }
        body.append("<h2>\(visit.t("时间线", "Timeline"))</h2><ul class=\"timeline\" id=\"timeline\">\(events)</ul>")
        return Page(title: "\(visit.t("问题", "Problem")) #\(id)", body: body.joined(), section: visit.principal.isFunctionalOnly ? .inbox : .problems)
    }

    /// A step that takes one text (a reason, an answer), with the problem's ETag.
    private func textStep(
        _ base: String, _ step: String, _ field: String, _ placeholder: String, _ label: String, _ visit: Visit, _ etag: [(String, String)],
        optional: Bool = false
    ) -> HTML {
        """
        <form method="post" action="\(base)/\(step)">\(visit.formTokenField)<input type="hidden" name="etag" value="\(etag.first?.1 ?? "")">
        <input type="text" name="\(field)" placeholder="\(placeholder)" maxlength="2000"\(optional ? .empty : HTML(raw: " required"))>
        <button type="submit" id="\(step)-problem">\(label)</button></form>
        """
    }
}
