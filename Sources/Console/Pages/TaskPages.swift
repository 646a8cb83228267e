import API
import Domain
import Foundation
import Hummingbird
import Store

/// Callback tasks: the list, and one task with its attempts, its start, and the record filled from
/// the form version of its rule.
extension Console {
    func registerTasks<R: RouterMethods>(_ router: R) {
        page(router, RouterPath(Self.root + "/tasks")) { request, _, visit in
            let query = FormData(request.uri.query ?? "")
            let mine = query["mine"] == "1"
            let overdue = query["overdue"] == "1"
            let rule = query["rule"].flatMap(Components.Schemas.RuleCode.init(rawValue:))
            let tasks = try await self.api.listTasks(query: .init(
                mine: mine ? true : nil, ruleCode: rule, state: .active, overdue: overdue ? true : nil, limit: 100)).ok.body.json.items
            let tabs: HTML = """
                <div class="tabs"><a href="\(Self.root)/tasks"\(!mine && !overdue ? HTML(raw: " class=\"current\"") : .empty)>\(visit.t("全部未完成", "All open"))</a>
                <a href="\(Self.root)/tasks?mine=1"\(mine ? HTML(raw: " class=\"current\"") : .empty)>\(visit.t("分配给我", "Mine"))</a>
                <a href="\(Self.root)/tasks?overdue=1"\(overdue ? HTML(raw: " class=\"current\"") : .empty)>\(visit.t("已超期", "Overdue"))</a>
                <form method="get" class="inline" id="rule-filter">\(mine ? HTML(raw: "<input type=\"hidden\" name=\"mine\" value=\"1\">") : .empty)
                <select name="rule"><option value="">\(visit.t("全部规则", "Every rule"))</option>\(Components.Schemas.RuleCode.allCases.map { "<option value=\"\($0.rawValue)\"\($0 == rule ? HTML(raw: " selected") : .empty)>\($0.rawValue)</option>" as HTML })</select>
                <button type="submit">\(visit.t("筛选", "Filter"))</button></form></div>
                """
            return Page(title: visit.t("回访任务", "Callback tasks"), body: tabs + (try await self.taskTable(tasks, visit, id: "tasks")), section: .tasks)
        }
        page(router, RouterPath(Self.root + "/tasks/:id")) { _, context, visit in
            try await self.taskPage(try context.parameters.require("id", as: Int64.self), visit)
        }
        action(router, RouterPath(Self.root + "/tasks/:id/start")) { _, context, visit, _ in
            let id = try context.parameters.require("id", as: Int64.self)
            return try await self.perform(visit, then: "\(Self.root)/tasks/\(id)") {
                _ = try await self.api.startTask(path: .init(taskId: id)).ok
            } otherwise: { _ in try await self.taskPage(id, visit) }
        }
        action(router, RouterPath(Self.root + "/tasks/:id/assign")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            return try await self.perform(visit, then: "\(Self.root)/tasks/\(id)") {
                let staff = try form.requiredInt64("staffId")
                _ = try await self.api.assignTask(path: .init(taskId: id), body: .json(.init(staffId: staff))).ok
            } otherwise: { _ in try await self.taskPage(id, visit) }
        }
        action(router, RouterPath(Self.root + "/tasks/:id/attempts")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            return try await self.perform(visit, then: "\(Self.root)/tasks/\(id)#attempts") {
                let body = try self.checked("logTaskAttempt", Components.Schemas.AttemptInput(
                    channel: try choice(form["channel"], "channel"), outcome: try choice(form["outcome"], "outcome"), note: form.text("note")))
                _ = try await self.api.logTaskAttempt(path: .init(taskId: id), body: .json(body)).created
            } otherwise: { _ in try await self.taskPage(id, visit) }
        }
        action(router, RouterPath(Self.root + "/tasks/:id/record")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            let task = try await self.api.getTask(path: .init(taskId: id)).ok.body.json
            let (recordForm, questions) = try await self.form(for: task, visit)
            let answers = RecordFormView(fields: recordForm.fields).answers(form, directiveQuestions: questions)
            return try await self.perform(visit, {
                let payload = try JSONValue.object(answers).decoded(as: Components.Schemas.RecordInput.AnswersPayload.self)
                let body = try self.checked("createRecord", Components.Schemas.RecordInput(taskId: id, answers: payload))
                let record = try await self.api.createRecord(body: .json(body)).created.body.json
                return "\(Self.root)/records/\(record.id)"
            }, otherwise: { failure in try await self.taskPage(id, visit, answers: answers, problems: failure.fields) })
        }
    }

    /// The form version a task's callback is recorded on (its rule's), and its directive's questions.
    func form(for task: Components.Schemas.Task, _ visit: Visit) async throws -> (RecordForm, [String]) {
        guard let access = visit.principal.access(for: .readTasks) else { throw ConsoleFailure(status: 403, title: "Forbidden") }
        return try await pool.transaction(for: access, readOnly: true) { db in
            let code = try await ObligationRuleStore(db).recordForm(rule: task.ruleCode.rawValue, version: Int(task.ruleVersion))
            guard let form = try await RecordFormStore(db).latest(code: code) else { throw ConsoleFailure(status: 404, title: "No form") }
            var questions: [String] = []
            if let directive = task.directiveId { questions = try await RecordStore(db).directiveQuestionIds(directive) }
            return (form, questions)
        }
    }

    func taskPage(_ id: Int64, _ visit: Visit, answers: [String: JSONValue] = [:], problems: [ConsoleFailure.Field] = []) async throws -> Page {
        let task = try await api.getTask(path: .init(taskId: id)).ok.body.json
        async let attemptsCall = api.listTaskAttempts(path: .init(taskId: id)).ok.body.json
        async let recordsCall = api.listRecords(query: .init(taskId: id, limit: 20)).ok.body.json.items
        let left = try await calendar.workdaysLeft(until: [task.dueAt], now: now())[task.dueAt]
        let attempts = try await attemptsCall
        let records = try await recordsCall
        let mine = task.assigneeStaffId == visit.principal.staffId
        let working = mine && (task.state == .assigned || task.state == .inProgress)

        var body: [HTML] = []
        body.append("""
            <div class="panel">\(Widgets.facts([
                (visit.t("营业部", "Branch"), "\(task.branchCode)"),
                (visit.t("客户号", "Client no."), "<span class=\"mono\">\(task.subjectNo)</span>"),
                (visit.t("客户", "Client"), task.clientId.map { Widgets.link("\(Self.root)/clients/\($0)", task.subjectName) } ?? "\(task.subjectName)"),
                (visit.t("规则", "Rule"), "\(task.ruleCode.rawValue) v\(task.ruleVersion)"), (visit.t("期间", "Period"), "\(task.period)"),
                (visit.t("截止", "Due"), Widgets.due(task.dueAt, left: task.state == .completed ? nil : left, visit)),
                (visit.t("状态", "State"), Labels.badge(task.state.rawValue, visit)),
                (visit.t("失败尝试天数", "Days with failed attempts"), "\(task.failedAttemptDays)"),
            ]))</div>
            """)
        if visit.can(.manageTasks) && (task.state == .open || task.state == .assigned),
           let staff = try? await api.listStaff(query: .init(branchId: task.branchId, status: .active, limit: 100)).ok.body.json.items, !staff.isEmpty {
            // Who may perform it is the API's to decide (recusal, roles); the list is the branch's people.
            let options: [HTML] = staff.map { "<option value=\"\($0.id)\"\($0.id == task.assigneeStaffId ? HTML(raw: " selected") : .empty)>\($0.name) \($0.employeeNo)</option>" }
            body.append("""
                <div class="actions"><form method="post" action="\(Self.root)/tasks/\(id)/assign" id="assign-form">\(visit.formTokenField)
                <label>\(visit.t("分配给", "Assign to")) <select name="staffId">\(options)</select></label>
                <button type="submit" id="assign-task">\(visit.t("分配", "Assign"))</button></form></div>
                """)
        }
        if mine && task.state == .assigned {
            body.append("<div class=\"actions\">\(Widgets.button("\(Self.root)/tasks/\(id)/start", visit.t("开始回访", "Start the callback"), visit, primary: true, id: "start-task"))</div>")
        }
        let attemptRows: [[HTML]] = attempts.map { ["\(Widgets.time($0.attemptedAt))", "\(Labels.word($0.channel, visit))", Labels.badge($0.outcome, visit), "\($0.note ?? "")"] }
        body.append("<h2 id=\"attempts\">\(visit.t("联系尝试", "Attempts"))</h2>")
        body.append(Widgets.table([visit.t("时间", "When"), visit.t("方式", "Channel"), visit.t("结果", "Outcome"), visit.t("备注", "Note")],
                                  attemptRows, empty: visit.t("尚无记录。", "None yet.")))
        if working {
            body.append("""
                <div class="actions"><form method="post" action="\(Self.root)/tasks/\(id)/attempts" id="attempt-form">\(visit.formTokenField)
                <label>\(visit.t("方式", "Channel")) <select name="channel">\(Widgets.options(["phone", "sms", "email", "letter", "visit", "meeting", "other"], visit))</select></label>
                <label>\(visit.t("结果", "Outcome")) <select name="outcome">\(Widgets.options(["reached", "no_answer", "busy", "wrong_number", "refused", "unavailable"], visit))</select></label>
                <label>\(visit.t("备注", "Note")) <input type="text" name="note" maxlength="2000"></label>
                <button type="submit" id="log-attempt">\(visit.t("登记尝试", "Log attempt"))</button></form></div>
                """)
        }
        body.append("<h2>\(visit.t("回访记录", "Records"))</h2>\(recordTable(records, visit, id: "task-records"))")
        if working && !records.contains(where: { $0.revision == 1 }) {
            let (form, questions) = try await self.form(for: task, visit)
            body.append("""
                <h2>\(visit.t("填写回访记录", "Fill in the record")) — \(form.title) <small class="muted">\(form.attachment) · v\(form.version)</small></h2>
                <form method="post" action="\(Self.root)/tasks/\(id)/record" class="panel" id="record-form">\(visit.formTokenField)
                \(RecordFormView(fields: form.fields).inputs(answers, problems: problems, directiveQuestions: questions, visit))
                <p><button type="submit" class="primary" id="create-record">\(visit.t("保存记录", "Save the record"))</button>
                <span class="muted">\(visit.t("保存后可检查、修改并签字提交。", "You can check, change and sign it once saved."))</span></p></form>
                """)
        }
        return Page(title: "\(visit.t("回访任务", "Callback task")) #\(id) · \(task.title)", body: body.joined(), section: .tasks)
    }
}
