import API
import Domain
import Foundation
import Hummingbird

/// A functional department's inbox: each forwarding with its 2-working-day countdown, and its steps
/// (acknowledge, answer, "not ours"), each with the forwarding's ETag.
extension Console {
    func registerForwardings<R: RouterMethods>(_ router: R) {
        page(router, RouterPath(Self.root + "/forwardings")) { request, _, visit in
            try await self.forwardingsPage(FormData(request.uri.query ?? "")["state"], visit)
        }
        action(router, RouterPath(Self.root + "/forwardings/:id/:step")) { _, context, visit, form in
            let id = try context.parameters.require("id", as: Int64.self)
            let step = try context.parameters.require("step")
            let etag = form["etag"]
            return try await self.perform(visit, then: Self.root + "/forwardings") {
                switch step {
                case "acknowledge": _ = try await self.api.acknowledgeForwarding(path: .init(forwardingId: id), headers: .init(ifMatch: etag)).ok
                case "answer", "misroute":
                    let body = try self.checked(step == "answer" ? "answerForwarding" : "misrouteForwarding",
                                                Components.Schemas.TextInput(text: try required(form["text"], "text")))
                    if step == "answer" {
                        _ = try await self.api.answerForwarding(path: .init(forwardingId: id), headers: .init(ifMatch: etag), body: .json(body)).ok
                    } else {
                        _ = try await self.api.misrouteForwarding(path: .init(forwardingId: id), headers: .init(ifMatch: etag), body: .json(body)).ok
                    }
                default: throw ConsoleFailure(status: 404, title: "Not found")
                }
            } otherwise: { _ in try await self.forwardingsPage(nil, visit) }
        }
    }

    func forwardingsPage(_ state: String?, _ visit: Visit) async throws -> Page {
        let chosen = state.flatMap(Components.Schemas.ForwardingState.init(rawValue:))
        let items = try await api.listForwardings(query: .init(state: chosen, limit: 100)).ok.body.json.items
        let tabs: [HTML] = [(nil, visit.t("待答复", "To answer")), ("answered", visit.t("已答复", "Answered")), ("accepted", visit.t("已采纳", "Accepted"))].map { tab in
            "<a href=\"\(Self.root)/forwardings\(tab.0.map { "?state=\($0)" } ?? "")\"\(tab.0 == chosen?.rawValue ? HTML(raw: " class=\"current\"") : .empty)>\(tab.1)</a>"
        }
        let body: HTML = "<div class=\"tabs\">\(tabs)</div><p class=\"muted\">\(visit.t("职能部门须在收到后 2 个工作日内答复（第十八条）。", "A functional department answers within 2 working days of receiving (Art 18)."))</p>"
            + forwardingTable(items, visit, id: "forwardings", actions: chosen == nil)
        return Page(title: visit.t("转办收件箱", "Forwarded to us"), body: body, section: .inbox)
    }

    func forwardingActions(_ forwarding: Components.Schemas.Forwarding, _ visit: Visit) -> HTML {
        let base = "\(Self.root)/forwardings/\(forwarding.id)"
        let etag: HTML = "<input type=\"hidden\" name=\"etag\" value=\"\(forwarding.etag)\">"
        var forms: [HTML] = []
        if forwarding.state == .received {
            forms.append(Widgets.button("\(base)/acknowledge", visit.t("签收", "Acknowledge"), visit, hidden: [("etag", forwarding.etag)], id: "acknowledge-\(forwarding.id)"))
        }
        if forwarding.state == .received || forwarding.state == .acknowledged {
            forms.append("""
                <form method="post" action="\(base)/answer" id="answer-\(forwarding.id)">\(visit.formTokenField)\(etag)
                <textarea name="text" rows="2" placeholder="\(visit.t("处理意见", "Our answer"))" maxlength="4000" required></textarea>
                <button type="submit" class="primary">\(visit.t("答复", "Answer"))</button></form>
                <form method="post" action="\(base)/misroute">\(visit.formTokenField)\(etag)
                <input type="text" name="text" placeholder="\(visit.t("应由哪个部门处理", "Which department it belongs to"))" maxlength="4000" required>
                <button type="submit">\(visit.t("非本部门", "Not ours"))</button></form>
                """)
        }
        return "<div class=\"actions\">\(forms)</div>"
    }
}
