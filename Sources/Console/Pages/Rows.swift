import API
import Foundation
import Store

/// The rows of the lists several pages show: tasks, records, problems, forwardings.
extension Console {
    func taskTable(_ tasks: [Components.Schemas.Task], _ visit: Visit, id: String) async throws -> HTML {
        let left = try await calendar.workdaysLeft(until: tasks.filter { $0.state != .completed }.map(\.dueAt), now: now())
        let rows: [[HTML]] = tasks.map { task in
            [
                Widgets.link("\(Self.root)/tasks/\(task.id)", "#\(task.id)"), "\(task.branchCode)", "<span class=\"mono\">\(task.subjectNo)</span>",
                "\(task.subjectName)", "\(task.title)", Widgets.due(task.dueAt, left: left[task.dueAt], visit),
                Labels.badge(task.state.rawValue, visit),
            ]
        }
        return Widgets.table(
            ["#", visit.t("营业部", "Branch"), visit.t("客户号", "Client no."), visit.t("客户", "Client"), visit.t("任务", "Task"),
             visit.t("截止", "Due"), visit.t("状态", "State")],
            rows, empty: visit.t("没有任务。", "No tasks."), id: id)
    }

    func recordTable(_ records: [Components.Schemas.Record], _ visit: Visit, id: String) -> HTML {
        let rows: [[HTML]] = records.map { record in
            [
                Widgets.link("\(Self.root)/records/\(record.id)", "#\(record.id)"), "\(record.branchCode)",
                "<span class=\"mono\">\(record.subjectNo)</span>", "\(record.subjectName)", "\(Labels.word(record.formCode.rawValue, visit))",
                "\(record.performerName)", Labels.badge(record.state.rawValue, visit), Widgets.time(record.submittedAt ?? record.updatedAt),
            ]
        }
        return Widgets.table(
            ["#", visit.t("营业部", "Branch"), visit.t("客户号", "Client no."), visit.t("客户", "Client"), visit.t("表单", "Form"),
             visit.t("回访人", "Performer"), visit.t("状态", "State"), visit.t("更新", "Updated")],
            rows, empty: visit.t("没有记录。", "No records."), id: id)
    }

    func problemTable(_ problems: [Components.Schemas.ProblemSummary], _ visit: Visit, id: String) -> HTML {
        let rows: [[HTML]] = problems.map { problem in
            [
                Widgets.link("\(Self.root)/problems/\(problem.id)", "#\(problem.id)"), "\(problem.branchCode)",
                "<span class=\"mono\">\(problem.clientNo ?? "—")</span>", "\(Labels.word(problem.category.rawValue, visit))",
                "\(Labels.word(problem.severity.rawValue, visit))", "\(String(problem.description.prefix(60)))",
                "\(problem.departmentCode ?? "—")\(problem.assigneeStaffId.map { _ in HTML(raw: " ✓") })",
                Labels.badge(problem.state.rawValue, visit), Widgets.clock(problem.clock, visit),
            ]
        }
        return Widgets.table(
            ["#", visit.t("营业部", "Branch"), visit.t("客户号", "Client no."), visit.t("类别", "Category"), visit.t("级别", "Severity"),
             visit.t("描述", "Description"), visit.t("总部部门", "HQ dept."), visit.t("状态", "State"), visit.t("15 个工作日时限", "15-day clock")],
            rows, empty: visit.t("没有问题。", "No problems."), id: id)
    }

    func forwardingTable(_ forwardings: [Components.Schemas.Forwarding], _ visit: Visit, id: String, actions: Bool) -> HTML {
        let rows: [[HTML]] = forwardings.map { forwarding in
            var row: [HTML] = [
                Widgets.link("\(Self.root)/problems/\(forwarding.problemId)", "#\(forwarding.problemId)"), "\(forwarding.departmentCode)",
                "\(Labels.word(forwarding.category, visit))", "\(Labels.word(forwarding.severity, visit))", "\(forwarding.description)",
                "\(forwarding.note ?? "")", Widgets.time(forwarding.receivedAt), Labels.badge(forwarding.state.rawValue, visit),
                Widgets.clock(forwarding.clock, visit),
            ]
            if actions { row.append(forwardingActions(forwarding, visit)) }
            return row
        }
        var headers = [
            visit.t("问题", "Problem"), visit.t("部门", "Dept."), visit.t("类别", "Category"), visit.t("级别", "Severity"),
            visit.t("描述", "Description"), visit.t("转办说明", "Note"), visit.t("收到", "Received"), visit.t("状态", "State"),
            visit.t("2 个工作日时限", "2-day clock"),
        ]
        if actions { headers.append(visit.t("处理", "Act")) }
        return Widgets.table(headers, rows, empty: visit.t("没有转办。", "Nothing forwarded."), id: id)
    }
}
