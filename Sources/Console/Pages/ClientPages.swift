import API
import Domain
import Foundation
import Hummingbird
import Postgres
import Store

/// The client file: masked personal data (a reveal needs a reason and lands in the audit trail),
/// every record, profile and problem of the client in time order.
extension Console {
    func registerClients<R: RouterMethods>(_ router: R) {
        page(router, RouterPath(Self.root + "/clients")) { request, _, visit in
            let query = FormData(request.uri.query ?? "")
            let branch = query["branch"].flatMap { Int32($0) }
            let page = try await self.api.listClients(query: .init(branchId: branch, after: query["after"], limit: 50)).ok.body.json
            let rows: [[HTML]] = page.items.map { client in
                [Widgets.link("\(Self.root)/clients/\(client.id)", client.clientNo), "\(client.name)", "\(client.branchId)", "\(Labels.word(client.kind.rawValue, visit))",
                 "<span class=\"mono\">\(client.idNumber)</span>", "<span class=\"mono\">\(client.phone ?? "")</span>", Widgets.time(client.openedAt)]
            }
            let next: HTML = page.next.map { "<p><a href=\"\(Self.root)/clients?after=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")\(branch.map { "&branch=\($0)" } ?? "")\">\(visit.t("下一页", "Next page")) →</a></p>" } ?? .empty
            let body: HTML = Widgets.table(
                [visit.t("客户号", "Client no."), visit.t("姓名", "Name"), visit.t("营业部 ID", "Branch id"), visit.t("类型", "Kind"),
                 visit.t("证件号码", "ID number"), visit.t("电话", "Phone"), visit.t("开户", "Opened")],
                rows, empty: visit.t("没有客户。", "No clients."), id: "clients") + next
            return Page(title: visit.t("客户档案", "Clients"), body: body, section: .clients)
        }
        page(router, RouterPath(Self.root + "/clients/:id")) { _, context, visit in
            try await self.clientPage(try context.parameters.require("id", as: Int64.self), visit)
        }
        action(router, RouterPath(Self.root + "/clients/:id/reveal")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            do {
                let fields = form.all("fields").compactMap(Components.Schemas.PersonalDataField.init(rawValue:))
                let body = try self.checked("revealClient", Components.Schemas.RevealRequest(fields: fields, reason: try required(form["reason"], "reason")))
                let revealed = try await self.api.revealClient(path: .init(clientId: id), body: .json(body)).ok.body.json
                var page = try await self.clientPage(id, visit, revealed: revealed)
                page.notice = Notice(kind: .done, text: "\(visit.t("已显示明文，并记入审计日志", "Shown in the clear, and recorded in the audit trail")) #\(revealed.auditEventId)")
                return try await self.layout(page, visit)
            } catch let error as PostgresError where error.isSessionEnded || error.isSessionGrantsChanged {
                throw error
            } catch {
                let failure = self.explain(error)
                var page = try await self.clientPage(id, visit)
                page.notice = Notice(kind: .error, text: self.failureText(failure, visit))
                page.status = .init(code: failure.status)
                return try await self.layout(page, visit)
            }
        }
    }

    func clientPage(_ id: Int64, _ visit: Visit, revealed: Components.Schemas.RevealedPersonalData? = nil) async throws -> Page {
        let client = try await api.getClient(path: .init(clientId: id)).ok.body.json
        let file = visit.can(.readRecords) ? try await api.getClientFile(path: .init(clientId: id)).ok.body.json : nil
        var body: [HTML] = []
        body.append("""
            <div class="panel">\(Widgets.facts([
                (visit.t("客户号", "Client no."), "<span class=\"mono\">\(client.clientNo)</span>"), (visit.t("姓名", "Name"), "\(client.name)"),
                (visit.t("证件号码", "ID number"), "<span class=\"mono\" id=\"id-number\">\(revealed?.idNumber ?? client.idNumber)</span>"),
                (visit.t("电话", "Phone"), "<span class=\"mono\" id=\"phone\">\(revealed?.phone ?? client.phone ?? "—")</span>"),
                (visit.t("开户", "Opened"), Widgets.time(client.openedAt)), (visit.t("状态", "Status"), "\(client.status.rawValue)"),
                (visit.t("类型", "Kind"), "\(client.kind.rawValue)"),
                (visit.t("资产", "Assets"), client.classification.map { "\($0.totalAssets) CNY (\($0.segment.rawValue))" as HTML } ?? "—"),
            ]))</div>
            """)
        if visit.can(.revealPersonalData) && revealed == nil {
            body.append("""
                <div class="actions"><form method="post" action="\(Self.root)/clients/\(id)/reveal" id="reveal-form">\(visit.formTokenField)
                <label><input type="checkbox" name="fields" value="idNumber" checked> \(visit.t("证件号码", "ID number"))</label>
                <label><input type="checkbox" name="fields" value="phone" checked> \(visit.t("电话", "Phone"))</label>
                <input type="text" name="reason" placeholder="\(visit.t("查看明文的理由（记入审计）", "Why you need the clear values (audited)"))" minlength="4" maxlength="2000" required>
                <button type="submit">\(visit.t("显示明文", "Reveal"))</button></form></div>
                """)
        }
        if let file {
            body.append("<h2>\(visit.t("回访记录", "Records"))</h2>" + recordTable(file.records, visit, id: "client-records"))
            let problems: [[HTML]] = file.problems.map { [Widgets.link("\(Self.root)/problems/\($0.id)", "#\($0.id)"), "\(Labels.word($0.category, visit))", "\($0.description)", Labels.badge($0.state, visit), Widgets.time($0.raisedAt)] }
            body.append("<h2>\(visit.t("问题", "Problems"))</h2>" + Widgets.table(
                ["#", visit.t("类别", "Category"), visit.t("描述", "Description"), visit.t("状态", "State"), visit.t("提出", "Raised")], problems,
                empty: visit.t("没有问题。", "No problems."), id: "client-problems"))
            let events: [HTML] = file.timeline.map { "<li><time>\(ShanghaiTime.minute($0.at))</time>\($0.summary)</li>" }
            body.append("<h2>\(visit.t("档案时间线", "File timeline"))</h2><ul class=\"timeline\">\(events)</ul>")
        }
        return Page(title: "\(visit.t("客户档案", "Client file")) \(client.clientNo)", body: body.joined(), section: .clients)
    }
}
