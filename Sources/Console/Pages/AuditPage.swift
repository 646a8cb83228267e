import API
import Domain
import Foundation
import Hummingbird
import Store

/// The audit trail for the auditor: the latest events (filtered by branch or action) and, on
/// request, `huifang audit verify`'s check of every hash chain the auditor may read.
extension Console {
    func registerAudit<R: RouterMethods>(_ router: R) {
        page(router, RouterPath(Self.root + "/audit")) { request, _, visit in
            let query = FormData(request.uri.query ?? "")
            let branch = query["branch"].flatMap { Int32($0) }
            let action = query.text("action")
            let events = try await self.api.listAuditEvents(query: .init(branchId: branch, action: action, limit: 100)).ok.body.json.items
            var body: [HTML] = []
            body.append("""
                <form method="get" class="actions"><label>\(visit.t("营业部 ID", "Branch id")) <input type="number" name="branch" value="\(query["branch"] ?? "")" class="short"></label>
                <label>\(visit.t("动作", "Action")) <input type="text" name="action" value="\(action ?? "")" placeholder="problem.forward"></label>
                <button type="submit">\(visit.t("筛选", "Filter"))</button>
                <button type="submit" name="verify" value="1" id="verify-audit">\(visit.t("校验哈希链", "Verify the hash chains"))</button></form>
                """)
            if query["verify"] == "1" {
                body.append(try await self.verification(visit))
            }
            let rows: [[HTML]] = events.map { event in
                ["\(event.id)", Widgets.time(event.at), "\(event.actorStaffId.map(String.init) ?? "—")", "\(event.branchId.map(String.init) ?? "—")",
                 "<span class=\"mono\">\(event.action)</span>", "\(event.objectType) \(event.objectId ?? "")", "\(event.reason ?? "")"]
            }
            body.append("<h2>\(visit.t("最近的审计事件", "Latest events"))</h2>" + Widgets.table(
                ["#", visit.t("时间", "When"), visit.t("操作人", "Actor"), visit.t("营业部", "Branch"), visit.t("动作", "Action"),
                 visit.t("对象", "Object"), visit.t("理由", "Reason")], rows, empty: visit.t("没有事件。", "No events."), id: "audit-events"))
            return Page(title: visit.t("审计日志", "Audit trail"), body: body.joined(), section: .audit)
        }
    }

    /// The chains' check, as `huifang audit verify` reports it, over what the auditor's scope reads.
    private func verification(_ visit: Visit) async throws -> HTML {
        guard let access = visit.principal.access(for: .readAudit) else { throw ConsoleFailure(status: 403, title: "Forbidden") }
        let reports = try await pool.transaction(for: access, readOnly: true) { try await AuditChain($0).verify() }
        let rows: [[HTML]] = reports.map { report in
            let name = report.branchCode ?? visit.t("全组织", "organization")
            let status: HTML = report.broken.map {
                "<span class=\"badge s-breached\">\(visit.t("断裂", "BROKEN"))</span> #\($0.seq) (id \($0.id)): \($0.reason)"
            } ?? "<span class=\"badge s-met\">\(visit.t("完整", "intact"))</span>"
            return ["\(name)", "\(report.events)", status]
        }
        let intact = reports.allSatisfy { $0.broken == nil }
        return "<h2>\(visit.t("哈希链校验", "Hash chain check")) — \(intact ? visit.t("全部完整", "all intact") : visit.t("发现断裂", "broken links found"))</h2>"
            + Widgets.table([visit.t("链", "Chain"), visit.t("事件数", "Events"), visit.t("结果", "Result")], rows, empty: visit.t("没有审计事件。", "No audit events."), numeric: [1], id: "audit-verify")
    }
}
