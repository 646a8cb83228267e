import API
import Domain
import Foundation
import Hummingbird
import OpenAPIRuntime
import Store

/// Callback records: the list, one record (its answers on the form version it was filled on, its
/// signatures and findings), editing and signing it, the leader's countersignature or return, the
/// archive, raising or dismissing its findings, and the printable paper form.
extension Console {
    func registerRecords<R: RouterMethods>(_ router: R) {
        page(router, RouterPath(Self.root + "/records")) { request, _, visit in
            let query = FormData(request.uri.query ?? "")
            let state = query["state"].flatMap(Components.Schemas.RecordState.init(rawValue:))
            let records = try await self.api.listRecords(query: .init(state: state, limit: 100)).ok.body.json.items
            let tabs: [HTML] = ([nil] + ["draft", "submitted", "returned", "countersigned", "archived"]).map { code in
                "<a href=\"\(Self.root)/records\(code.map { "?state=\($0)" } ?? "")\"\(code == state?.rawValue ? HTML(raw: " class=\"current\"") : .empty)>\(code.map { Labels.word($0, visit) } ?? visit.t("全部", "All"))</a>"
            }
            return Page(title: visit.t("回访记录", "Callback records"), body: "<div class=\"tabs\">\(tabs)</div>" + self.recordTable(records, visit, id: "records"), section: .records)
        }
        page(router, RouterPath(Self.root + "/records/:id")) { _, context, visit in
            try await self.recordPage(try context.parameters.require("id", as: Int64.self), visit)
        }
        download(router, RouterPath(Self.root + "/records/:id/print")) { _, context, _ in
            let id = try context.parameters.require("id", as: Int64.self)
            let html = try await self.api.getRecord(path: .init(recordId: id), headers: .init(accept: [.init(contentType: .html)])).ok.body.html
            let text = try await String(collecting: html, upTo: 4 << 20)
            var response = Response.html(HTML(raw: text))
            // The paper form carries its own print styles.
            response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
            return response
        }
        action(router, RouterPath(Self.root + "/records/:id/answers")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            let record = try await self.api.getRecord(path: .init(recordId: id)).ok.body.json
            let (recordForm, questions, profileForm) = try await self.forms(of: record, visit)
            let answers = RecordFormView(fields: recordForm.fields).answers(form, directiveQuestions: questions)
            // A profile left wholly blank is not filed; one begun is checked against its form.
            let profileAnswers = profileForm.map { Self.profileView($0).answers(form, directiveQuestions: []) } ?? [:]
            return try await self.perform(visit, then: "\(Self.root)/records/\(id)") {
                let profile = try profileForm.flatMap { profileForm -> Components.Schemas.ProfileInput? in
                    guard !profileAnswers.isEmpty, let code = Components.Schemas.ProfileInput.FormCodePayload(rawValue: profileForm.code) else { return nil }
                    return Components.Schemas.ProfileInput(
                        formCode: code, formVersion: Int32(profileForm.version),
                        answers: try JSONValue.object(profileAnswers).decoded(as: Components.Schemas.ProfileInput.AnswersPayload.self))
                }
                let body = try self.checked("updateRecord", Components.Schemas.RecordAnswersInput(
                    formVersion: record.formVersion,
                    answers: try JSONValue.object(answers).decoded(as: Components.Schemas.RecordAnswersInput.AnswersPayload.self),
                    profile: profile))
                _ = try await self.api.updateRecord(path: .init(recordId: id), body: .json(body)).ok
            } otherwise: { failure in
                try await self.recordPage(id, visit, answers: answers, profile: profileAnswers, problems: failure.fields)
            }
        }
        for step in ["submit", "countersign", "archive", "return"] {
            action(router, RouterPath(Self.root + "/records/:id/\(step)")) { _, context, visit, form in
                let id = try context.parameters.require("id", as: Int64.self)
                let path = Operations.SubmitRecord.Input.Path(recordId: id)
                return try await self.perform(visit, then: "\(Self.root)/records/\(id)") {
                    switch step {
                    case "submit": _ = try await self.api.submitRecord(path: path).ok
                    case "countersign": _ = try await self.api.countersignRecord(path: .init(recordId: id)).ok
                    case "archive": _ = try await self.api.archiveRecord(path: .init(recordId: id)).ok
                    default:
                        let body = try self.checked("returnRecord", Components.Schemas.Reason(reason: try required(form["reason"], "reason")))
                        _ = try await self.api.returnRecord(path: .init(recordId: id), body: .json(body)).ok
                    }
                } otherwise: { _ in try await self.recordPage(id, visit) }
            }
        }
        action(router, RouterPath(Self.root + "/records/:id/findings/:finding/raise")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            let finding = try context.parameters.require("finding", as: Int64.self)
            return try await self.perform(visit, {
                let body = try self.checked("raiseFinding", Components.Schemas.RaiseInput(
                    category: try choice(form["category"], "category"), severity: try choice(form["severity"], "severity"),
                    description: form.text("description")))
                let raised = try await self.api.raiseFinding(path: .init(recordId: id, findingId: finding), body: .json(body)).created.body.json
                return "\(Self.root)/problems/\(raised.id)"
            }, otherwise: { _ in try await self.recordPage(id, visit) })
        }
        action(router, RouterPath(Self.root + "/records/:id/findings/:finding/dismiss")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            let finding = try context.parameters.require("finding", as: Int64.self)
            return try await self.perform(visit, then: "\(Self.root)/records/\(id)") {
                let body = try self.checked("dismissFinding", Components.Schemas.Reason(reason: try required(form["reason"], "reason")))
                _ = try await self.api.dismissFinding(path: .init(recordId: id, findingId: finding), body: .json(body)).ok
            } otherwise: { _ in try await self.recordPage(id, visit) }
        }
    }

    /// What a record is filled on: its form version, its directive's questions, and for a service
    /// record (Art 13) the client profile it builds — the one it carries, else the core client's
    /// (Attachment 4) for a core client's monthly callback, else the client's (Attachment 5), on its
    /// latest version. One transaction.
    func forms(of record: Components.Schemas.Record, _ visit: Visit) async throws -> (form: RecordForm, questions: [String], profile: RecordForm?) {
        guard let access = visit.principal.access(for: .readRecords) else { throw ConsoleFailure(status: 403, title: "Forbidden") }
        return try await pool.transaction(for: access, readOnly: true) { db in
            let store = RecordFormStore(db)
            guard let form = try await store.get(code: record.formCode.rawValue, version: Int(record.formVersion)) else {
                throw ConsoleFailure(status: 404, title: "No form")
            }
            var questions: [String] = []
            if let directive = record.directiveId { questions = try await RecordStore(db).directiveQuestionIds(directive) }
            guard record.formCode == .service else { return (form, questions, nil) }
            if let carried = record.profile { return (form, questions, try await store.get(code: carried.formCode, version: Int(carried.formVersion))) }
            var rule: String?
            if let task = record.taskId { rule = try await TaskStore(db).get(task, branches: nil)?.ruleCode }
            return (form, questions, try await store.latest(code: rule == "core_monthly" ? "core_client_profile" : "client_profile"))
        }
    }

    static func profileView(_ form: RecordForm) -> RecordFormView {
        RecordFormView(fields: form.fields, prefix: "p", errorPath: "profile.answers")
    }

    func recordPage(
        _ id: Int64, _ visit: Visit, answers edited: [String: JSONValue]? = nil, profile editedProfile: [String: JSONValue]? = nil,
        problems: [ConsoleFailure.Field] = []
    ) async throws -> Page {
        let record = try await api.getRecord(path: .init(recordId: id)).ok.body.json
        let (form, questions, profileForm) = try await self.forms(of: record, visit)
        let profileAnswers = try record.profile.map { try JSONValue.of($0.answers).object ?? [:] } ?? [:]
        let answers = try JSONValue.of(record.answers).object ?? [:]
        let me = visit.principal.staffId
        let performer = record.performerStaffId == me
        let editable = performer && (record.state == .draft || record.state == .returned)
        let leads = visit.principal.grants.contains { $0.role.rawValue == record.leaderRole } && !performer
        let archives = visit.principal.grants.contains { $0.role.rawValue == record.archiverRole }
        let base = "\(Self.root)/records/\(id)"

        var body: [HTML] = []
        body.append("""
            <div class="panel">\(Widgets.facts([
                (visit.t("表单", "Form"), "\(form.title) <span class=\"muted\">\(form.attachment) v\(record.formVersion)</span>"),
                (visit.t("营业部", "Branch"), "\(record.branchCode)"),
                (visit.t("客户号", "Client no."), "<span class=\"mono\">\(record.subjectNo)</span>"),
                (visit.t("客户", "Client"), record.clientId.map { Widgets.link("\(Self.root)/clients/\($0)", record.subjectName) } ?? "\(record.subjectName)"),
                (visit.t("回访人", "Performer"), "\(record.performerName)"),
                (visit.t("会签", "Countersigned by"), "\(Labels.role(record.leaderRole, visit))"),
                (visit.t("状态", "State"), Labels.badge(record.state.rawValue, visit)),
                (visit.t("任务", "Task"), record.taskId.map { Widgets.link("\(Self.root)/tasks/\($0)", "#\($0)") } ?? "—"),
                (visit.t("修订", "Revision"), "\(record.revision)"),
            ]))
            \(record.returnReason.map { "<p><strong>\(visit.t("退回原因：", "Returned because: "))</strong>\($0)</p>" as HTML })
            <p class="noprint"><a href="\(base)/print" id="print-record">\(visit.t("打印记录表", "Printable record"))</a></p></div>
            """)

        var actions: [HTML] = []
        if performer && record.state == .draft || performer && record.state == .returned {
            actions.append(Widgets.button("\(base)/submit", visit.t("签字并提交", "Sign and submit"), visit, primary: true, id: "submit-record"))
        }
        if leads && record.state == .submitted {
            actions.append(Widgets.button("\(base)/countersign", visit.t("会签", "Countersign"), visit, primary: true, id: "countersign-record"))
            actions.append("""
                <form method="post" action="\(base)/return">\(visit.formTokenField)<input type="text" name="reason" placeholder="\(visit.t("退回原因", "Reason"))" maxlength="2000" required>
                <button type="submit" id="return-record">\(visit.t("退回", "Return"))</button></form>
                """)
        }
        if archives && record.state == .countersigned {
            actions.append(Widgets.button("\(base)/archive", visit.t("归档", "Archive"), visit, id: "archive-record"))
        }
        if !actions.isEmpty { body.append("<div class=\"actions\">\(actions)</div>") }

        if editable {
            body.append("""
                <h2>\(visit.t("修改记录", "Edit the record"))</h2>
                <form method="post" action="\(base)/answers" class="panel" id="record-form">\(visit.formTokenField)
                \(RecordFormView(fields: form.fields).inputs(edited ?? answers, problems: problems, directiveQuestions: questions, visit))
                \(profileForm.map { profileForm -> HTML in
                    let problem = problems.first { $0.field == "profile" || $0.field == "profile.formVersion" }
                    return """
                        <h3 id="profile">\(profileForm.title) <span class="muted">\(profileForm.attachment) v\(profileForm.version)</span></h3>
                        <p class="muted">\(visit.t("留空则不建档；填写后按表单校验。", "Left blank, no profile is filed; once begun it is checked against its form."))</p>
                        \(problem.map { "<p class=\"error\">\(Labels.reason($0.reason, visit))</p>" as HTML })
                        \(Self.profileView(profileForm).inputs(editedProfile ?? profileAnswers, problems: problems, directiveQuestions: [], visit))
                        """
                })
                <p><button type="submit" id="save-record">\(visit.t("保存修改", "Save changes"))</button></p></form>
                """)
        } else {
            let rows: [[HTML]] = form.fields.map { ["\($0.label)", RecordFormView.show(answers[$0.id], visit)] }
            body.append("<h2>\(visit.t("回访内容", "Answers"))</h2>" + Widgets.table([visit.t("项目", "Field"), visit.t("内容", "Answer")], rows, empty: ""))
            if let profileForm, record.profile != nil {
                let rows: [[HTML]] = profileForm.fields.map { ["\($0.label)", RecordFormView.show(profileAnswers[$0.id], visit)] }
                body.append("<h2 id=\"profile\">\(profileForm.title) <span class=\"muted\">\(profileForm.attachment) v\(profileForm.version)</span></h2>"
                            + Widgets.table([visit.t("项目", "Field"), visit.t("内容", "Answer")], rows, empty: "", id: "profile-answers"))
            }
        }

        let findings = record.findings ?? []
        if !findings.isEmpty {
            let handles = performer && record.state != .draft && record.state != .returned
            let rows: [[HTML]] = findings.map { finding in
                var outcome: HTML = "—"
                if let problem = finding.problemId {
                    outcome = "\(visit.t("已提出问题", "Raised as")) " + Widgets.link("\(Self.root)/problems/\(problem)", "#\(problem)")
                } else if let reason = finding.dismissalReason {
                    outcome = "\(visit.t("不提出：", "Dismissed: "))\(reason)"
                } else if handles {
                    let categories = ["client_complaint", "service_need", "product_need", "system_issue", "compliance_risk", "data_error", "other"]
                    outcome = """
                        <div class="actions"><form method="post" action="\(base)/findings/\(finding.id)/raise" id="raise-\(finding.id)">\(visit.formTokenField)
                        <select name="category">\(Widgets.options(categories, selected: finding.kind == .need ? "service_need" : "client_complaint", visit))</select>
                        <select name="severity">\(Widgets.options(["low", "medium", "high"], selected: "medium", visit))</select>
                        <input type="text" name="description" placeholder="\(visit.t("描述（默认为发现内容）", "Description (defaults to the finding)"))" maxlength="2000">
                        <button type="submit" class="primary">\(visit.t("提出问题", "Raise as a problem"))</button></form>
                        <form method="post" action="\(base)/findings/\(finding.id)/dismiss">\(visit.formTokenField)
                        <input type="text" name="reason" placeholder="\(visit.t("不提出的理由", "Why not"))" maxlength="2000" required>
                        <button type="submit">\(visit.t("不提出", "Dismiss"))</button></form></div>
                        """
                }
                return ["\(Labels.word(finding.kind.rawValue, visit))", "\(finding.text)", outcome]
            }
            body.append("<h2>\(visit.t("发现的问题、意见与需求", "Findings"))</h2>" + Widgets.table([visit.t("类型", "Kind"), visit.t("内容", "Text"), visit.t("处理", "Handling")], rows, empty: "", id: "findings"))
        }

        let signatures: [[HTML]] = (record.signatures ?? []).map { signature in
            ["\(Labels.word(signature.step.rawValue, visit))",
             "\(signature.signerName)", "\(Role(rawValue: signature.signerRole).map { Labels.role($0.rawValue, visit) } ?? Labels.word(signature.signerRole, visit))", Widgets.time(signature.signedAt),
             "<span class=\"mono\" title=\"\(signature.contentSha256)\">\(String(signature.contentSha256.prefix(12)))…</span> \(signature.matchesContent ? "✓" : visit.t("✗ 内容已变", "✗ changed since"))"]
        }
        body.append("<h2>\(visit.t("签字", "Signatures"))</h2>" + Widgets.table(
            [visit.t("步骤", "Step"), visit.t("签字人", "Signer"), visit.t("角色", "Role"), visit.t("时间", "When"), "SHA-256"], signatures,
            empty: visit.t("尚未签字。", "Not signed yet."), id: "signatures"))
        return Page(title: "\(visit.t("回访记录", "Callback record")) #\(id)", body: body.joined(), section: .records)
    }
}
