import API
import Domain
import Foundation
import Hummingbird
import Store

/// Monitoring: overdue and at-risk clocks, SLA by department and by branch for a month (with a
/// month-by-month trend), upload compliance, coverage per branch and rule, a branch's people. Every
/// table is also a CSV download of the same rows.
extension Console {
    /// One table of a monitoring page: its columns and rows as text, shown as HTML or sent as CSV.
    struct Sheet: Sendable {
        var name: String
        var headers: [String]
        var rows: [[String]]
        var numeric: Set<Int> = []

        var csv: String { ([headers] + rows).map(CSVLine.render).joined(separator: "\r\n") + "\r\n" }
    }

    func registerMonitoring<R: RouterMethods>(_ router: R) {
        for tab in ["", "/sla", "/uploads", "/coverage", "/people"] {
            page(router, RouterPath(Self.root + "/monitoring" + tab)) { request, _, visit in
                try await self.monitoringPage(tab, FormData(request.uri.query ?? ""), visit)
            }
        }
        download(router, RouterPath(Self.root + "/monitoring/csv/:sheet")) { request, context, visit in
            let name = try context.parameters.require("sheet")
            let query = FormData(request.uri.query ?? "")
            let tab = ["overdue": "", "at-risk": ""][name] ?? (name.hasPrefix("sla") ? "/sla" : "/" + name)
            guard let sheet = try await self.sheets(tab, query, visit).first(where: { $0.name == name }) else {
                throw ConsoleFailure(status: 404, title: "Not found")
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"huifang-\(name).csv\""],
                body: .init(byteBuffer: ByteBuffer(string: "\u{FEFF}" + sheet.csv)))
        }
    }

    static func coverageCells(_ row: Components.Schemas.CoverageRow) -> [String] {
        let counts = [row.population, row.required, row.completedOnTime, row.completedLate, row.awaitingSignoff, row.unreachable, row.overdue]
        return [row.branchCode, row.ruleCode.rawValue, row.period] + counts.map { String($0) } + [row.coveragePercent.map { $0 + "%" } ?? "—", row.met ? "✓" : "✗"]
    }

    private func month(_ query: FormData) -> String {
        query["month"].flatMap { Patterns.matches($0, #"^\d{4}-\d{2}$"#) ? $0 : nil } ?? ShanghaiTime.month(now())
    }

    /// The tables of a monitoring tab, read through the monitoring operations.
    func sheets(_ tab: String, _ query: FormData, _ visit: Visit) async throws -> [Sheet] {
        let month = month(query)
        switch tab {
        case "":
            async let overdue = api.listOverdue(query: .init(limit: 200)).ok.body.json.items
            async let atRisk = api.listAtRisk(query: .init(limit: 200)).ok.body.json
            func rows(_ items: [Components.Schemas.ClockItem]) -> [[String]] {
                items.map { [Labels.word($0.kind.rawValue, visit), $0.branchCode, $0.title, ShanghaiTime.minute($0.dueAt), String($0.ageWorkdays), $0.provisional ? "✓" : ""] }
            }
            let headers = [visit.t("类型", "Kind"), visit.t("营业部", "Branch"), visit.t("事项", "Item"), visit.t("截止", "Due"),
                           visit.t("工作日", "Working days"), visit.t("暂定", "Provisional")]
            return [Sheet(name: "overdue", headers: headers, rows: rows(try await overdue), numeric: [4]),
                    Sheet(name: "at-risk", headers: headers, rows: rows(try await atRisk), numeric: [4])]
        case "/sla":
            let sla = try await api.getSLACompliance(query: .init(month: month)).ok.body.json
            func rows(_ items: [Components.Schemas.ComplianceRow]) -> [[String]] {
                items.map { row in
                    [row.code, String(row.total), String(row.met), String(row.breachedStopped), String(row.breachedOpen), String(row.misrouted),
                     row.share.map { String(format: "%.1f%%", $0 * 100) } ?? "—", row.medianWorkdays.map { String(format: "%.1f", $0) } ?? "—"]
                }
            }
            let headers = [visit.t("部门/营业部", "Department/branch"), visit.t("总数", "Total"), visit.t("按时", "Met"), visit.t("超时办结", "Breached, stopped"),
                           visit.t("超时未结", "Breached, open"), visit.t("非本部门", "Misrouted"), visit.t("达标率", "SLA"), visit.t("中位工作日", "Median days")]
            return [Sheet(name: "sla-forwardings", headers: headers, rows: rows(sla.forwardingsByDepartment), numeric: [1, 2, 3, 4, 5, 6, 7]),
                    Sheet(name: "sla-problems-by-department", headers: headers, rows: rows(sla.problemsByDepartment), numeric: [1, 2, 3, 4, 5, 6, 7]),
                    Sheet(name: "sla-problems-by-branch", headers: headers, rows: rows(sla.problemsByBranch), numeric: [1, 2, 3, 4, 5, 6, 7])]
        case "/uploads":
            let standings = try await api.getUploadCompliance(query: .init(month: month)).ok.body.json
            return [Sheet(
                name: "uploads",
                headers: [visit.t("营业部", "Branch"), visit.t("状态", "Standing"), visit.t("截止", "Due"), visit.t("提交", "Submitted"), visit.t("记录数", "Records")],
                rows: standings.map { [$0.branchCode, Labels.word($0.standing.rawValue, visit), $0.dueAt.map(ShanghaiTime.minute) ?? "", $0.submittedAt.map(ShanghaiTime.minute) ?? "", $0.recordCount.map(String.init) ?? ""] },
                numeric: [4])]
        case "/coverage":
            let period = query["period"].flatMap { $0.count <= 10 ? $0 : nil } ?? String(month.prefix(4))
            let rows = try await api.getCoverage(query: .init(period: period, branchId: query["branch"].flatMap { Int32($0) })).ok.body.json
            let headers = [
                visit.t("营业部", "Branch"), visit.t("规则", "Rule"), visit.t("期间", "Period"), visit.t("总体", "Population"), visit.t("应回访", "Required"),
                visit.t("按时完成", "On time"), visit.t("逾期完成", "Late"), visit.t("待会签", "Awaiting sign-off"), visit.t("无法联系", "Unreachable"),
                visit.t("超期未做", "Overdue"), visit.t("覆盖率", "Coverage"), visit.t("达标", "Met"),
            ]
            return [Sheet(name: "coverage", headers: headers, rows: rows.map(Self.coverageCells), numeric: [3, 4, 5, 6, 7, 8, 9, 10])]
        case "/people":
            guard let branch = query["branch"].flatMap({ Int32($0) }) ?? visit.principal.grants.compactMap(\.branchId).first.map(Int32.init) else { return [] }
            let people = try await api.getPeopleFigures(query: .init(branchId: branch, month: month)).ok.body.json
            return [Sheet(
                name: "people",
                headers: [visit.t("工号", "Employee no."), visit.t("姓名", "Name"), visit.t("完成回访", "Callbacks"), visit.t("按时", "On time"), visit.t("被退回", "Returned"),
                          visit.t("提出问题", "Raised"), visit.t("办结", "Closed"), visit.t("驳回", "Rejected"), visit.t("进行中", "Open")],
                rows: people.map { [$0.employeeNo, $0.name, String($0.callbacksDone), String($0.callbacksOnTime), String($0.recordsReturned), String($0.problemsRaised),
                                    String($0.problemsClosed), String($0.problemsRejected), String($0.problemsOpen)] },
                numeric: [2, 3, 4, 5, 6, 7, 8])]
        default:
            throw ConsoleFailure(status: 404, title: "Not found")
        }
    }

    func monitoringPage(_ tab: String, _ query: FormData, _ visit: Visit) async throws -> Page {
        let month = month(query)
        let tabs: [HTML] = [("", visit.t("超期与临期", "Overdue and at risk")), ("/sla", visit.t("时限达标（SLA）", "SLA")), ("/uploads", visit.t("月度上传", "Uploads")),
                            ("/coverage", visit.t("回访覆盖", "Coverage")), ("/people", visit.t("人员", "People"))].map { entry in
            "<a href=\"\(Self.root)/monitoring\(entry.0)?month=\(month)\"\(entry.0 == tab ? HTML(raw: " class=\"current\"") : .empty)>\(entry.1)</a>"
        }
        let picker: HTML = """
            <form method="get" class="inline">\(tab == "/people" ? HTML(raw: "<label>\(HTML.escape(visit.t("营业部 ID", "Branch id"))) <input type=\"number\" name=\"branch\" value=\"\(HTML.escape(query["branch"] ?? ""))\" class=\"short\"></label> ") : .empty)\
            \(tab == "/coverage" ? HTML(raw: "<label>\(HTML.escape(visit.t("期间", "Period"))) <input type=\"text\" name=\"period\" value=\"\(HTML.escape(query["period"] ?? String(month.prefix(4))))\" class=\"short\"></label> ") : .empty)\
            <label>\(visit.t("月份", "Month")) <input type="text" name="month" value="\(month)" pattern="\\d{4}-\\d{2}" class="short"></label> <button type="submit">\(visit.t("查看", "Show"))</button></form>
            """
        let sheets = try await self.sheets(tab, query, visit)
        var body: [HTML] = ["<div class=\"tabs\">\(tabs)</div><p>\(picker)</p>"]
        if tab == "/sla" {
            body.append(try await slaCharts(month, sheets, visit))
        }
        if tab == "" {
            var perBranch: [String: Int] = [:]
            for row in sheets.first?.rows ?? [] { perBranch[row[1], default: 0] += 1 }
            body.append(Charts.bars(perBranch.sorted { $0.value > $1.value }.prefix(15).map { ($0.key, Double($0.value), "") }, percent: false,
                                    title: visit.t("各营业部超期事项数", "Overdue items per branch")))
        }
        if tab == "/people" && sheets.isEmpty {
            body.append("<p class=\"empty\">\(visit.t("请输入营业部 ID。", "Enter a branch id."))</p>")
        }
        let titles = ["overdue": visit.t("已超期", "Overdue"), "at-risk": visit.t("临近超期（已过 75%）", "At risk (past 75 %)"),
                      "sla-forwardings": visit.t("职能部门答复（2 个工作日），按部门", "Department answers (2 working days), by department"),
                      "sla-problems-by-department": visit.t("问题办结（15 个工作日），按总部部门", "Problems (15 working days), by HQ department"),
                      "sla-problems-by-branch": visit.t("问题办结（15 个工作日），按营业部", "Problems (15 working days), by branch"),
                      "uploads": visit.t("上月记录上传（前 10 个工作日内）", "Last month's records uploaded (first 10 working days)"),
                      "coverage": visit.t("回访覆盖率（按营业部与规则）", "Coverage per branch and rule"), "people": visit.t("人员工作量", "People")]
        for sheet in sheets {
            let link = "\(Self.root)/monitoring/csv/\(sheet.name)?month=\(month)" + (query["branch"].map { "&branch=\($0)" } ?? "") + (query["period"].map { "&period=\($0)" } ?? "")
            body.append("<h2>\(titles[sheet.name] ?? sheet.name) <small><a href=\"\(link)\" id=\"csv-\(sheet.name)\">CSV</a></small></h2>")
            body.append(Widgets.table(sheet.headers, sheet.rows.map { $0.map { "\($0)" as HTML } }, empty: visit.t("没有数据。", "Nothing here."), numeric: sheet.numeric, id: sheet.name))
        }
        return Page(title: visit.t("监控", "Monitoring"), body: body.joined(), section: .monitoring)
    }

    /// Bars of the month's SLA per department and per branch, and the problems' SLA over six months.
    private func slaCharts(_ month: String, _ sheets: [Sheet], _ visit: Visit) async throws -> HTML {
        func bars(_ name: String, _ title: String) -> HTML {
            let rows = sheets.first { $0.name == name }?.rows ?? []
            let items = rows.compactMap { row -> (String, Double, String)? in
                guard let total = Double(row[1]), total > 0, let met = Double(row[2]) else { return nil }
                return (row[0], met / total, "(\(row[2])/\(row[1]))")
            }
            return Charts.bars(items, percent: true, title: title)
        }
        let year = Int(month.prefix(4)) ?? 2026, number = Int(month.suffix(2)) ?? 1
        let months = (0..<6).reversed().map { back -> String in
            let index = year * 12 + (number - 1) - back
            return String(format: "%04d-%02d", index / 12, index % 12 + 1)
        }
        var points: [(label: String, value: Double?)] = []
        for shown in months {
            let sla = try await api.getSLACompliance(query: .init(month: shown)).ok.body.json
            let total = sla.problemsByDepartment.reduce(0) { $0 + Int($1.total) }
            let met = sla.problemsByDepartment.reduce(0) { $0 + Int($1.met) }
            points.append((String(shown.suffix(5)), total > 0 ? Double(met) / Double(total) : nil))
        }
        return """
            <div class="grid2">\(bars("sla-forwardings", visit.t("职能部门按时答复率", "Departments answering in time")))\
            \(bars("sla-problems-by-department", visit.t("问题按时办结率（按总部部门）", "Problems closed in time, by HQ department")))</div>
            <div class="grid2">\(bars("sla-problems-by-branch", visit.t("问题按时办结率（按营业部）", "Problems closed in time, by branch")))\
            \(Charts.trend(points, title: visit.t("近六个月问题按时办结率", "Problems closed in time, last six months")))</div>
            """
    }
}
