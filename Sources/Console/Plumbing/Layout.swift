import API
import Domain
import Foundation
import Hummingbird

extension Console {
    /// The page in the console's frame: the navigation (only what the person may open, with counts
    /// of what waits for them), the notice, the content.
    func layout(_ page: Page, _ visit: Visit) async throws -> Response {
        let counts = try await NavCounts.load(visit)
        func item(_ section: Page.Section, _ href: String, _ label: String, _ count: Int? = nil) -> HTML {
            let current: HTML = page.section == section ? " aria-current=\"page\" class=\"current\"" : ""
            let badge: HTML = (count ?? 0) > 0 ? " <span class=\"count\">\(count!)</span>" : ""
            return "<a href=\"\(href)\"\(current)>\(label)\(badge)</a>"
        }
        var nav: [HTML] = [item(.work, Self.root, visit.t("我的工作", "My work"), counts.work)]
        if visit.can(.readTasks) { nav.append(item(.tasks, Self.root + "/tasks", visit.t("回访任务", "Tasks"))) }
        if visit.can(.readRecords) { nav.append(item(.records, Self.root + "/records", visit.t("回访记录", "Records"), counts.records)) }
        if visit.can(.readProblems) && !visit.principal.isFunctionalOnly {
            nav.append(item(.problems, Self.root + "/problems", visit.t("问题", "Problems"), counts.problems))
        }
        if visit.can(.answerForwardings) {
            nav.append(item(.inbox, Self.root + "/forwardings", visit.t("转办收件箱", "Forwarded to us"), counts.inbox))
        }
        if visit.can(.readMonitoring) { nav.append(item(.monitoring, Self.root + "/monitoring", visit.t("监控", "Monitoring"))) }
        if visit.can(.readClients) { nav.append(item(.clients, Self.root + "/clients", visit.t("客户档案", "Clients"))) }
        if visit.can(.readAudit) { nav.append(item(.audit, Self.root + "/audit", visit.t("审计", "Audit trail"))) }

        let other: Language = visit.language == .zh ? .en : .zh
        let switchHref = Self.root + "/language?to=\(other.rawValue)&back="
            + (visit.location.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let roles = Set(visit.principal.grants.map { Labels.role($0.role.rawValue, visit) }).sorted().joined(separator: "、")
        let notice: HTML = page.notice.map { "<div class=\"notice \($0.kind.rawValue)\" role=\"alert\">\($0.text)</div>" } ?? .empty
        let html: HTML = """
            <!doctype html>
            <html lang="\(visit.language == .zh ? "zh-CN" : "en")">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(page.title) · \(visit.t("回访", "Huifang"))</title>
            <link rel="stylesheet" href="\(Self.root)/style.css"></head>
            <body>
            <header class="top">
              <a class="brand" href="\(Self.root)">回访 <small>Huifang</small></a>
              <nav>\(nav)</nav>
              <div class="who"><span title="\(visit.principal.employeeNo)">\(visit.principal.name)</span> <small>\(roles)</small>
                <a class="lang" href="\(switchHref)" hreflang="\(other == .zh ? "zh-CN" : "en")">\(other == .zh ? "中文" : "English")</a>
                <form method="post" action="\(Self.root)/sign-out" class="inline">\(visit.formTokenField)<button class="link" id="sign-out">\(visit.t("退出", "Sign out"))</button></form>
              </div>
            </header>
            <main>
            <h1>\(page.title)</h1>
            \(notice)
            \(page.body)
            </main>
            <footer>\(visit.t("时间均为北京时间（Asia/Shanghai）；期限按法定工作日计算。", "Times are Asia/Shanghai; deadlines count official working days."))</footer>
            </body></html>
            """
        return .html(html, status: page.status)
    }

    func failurePage(_ failure: ConsoleFailure, _ visit: Visit) -> Page {
        Page(
            title: failure.status == 404 ? visit.t("未找到", "Not found") : visit.t("无法完成", "Could not be done"),
            body: "<p><a href=\"\(Self.root)\">\(visit.t("返回我的工作", "Back to my work"))</a></p>",
            status: .init(code: failure.status), notice: Notice(kind: .error, text: failureText(failure, visit)))
    }

    func forbiddenForm(_ visit: Visit) -> Page {
        Page(
            title: visit.t("表单已失效", "The form has expired"),
            body: "<p>\(visit.t("此表单缺少有效的安全令牌（可能来自其他网站，或会话已更换）。请返回页面、刷新后重试。", "This form did not carry a valid security token (it may come from another site, or the session changed). Go back, reload the page and try again."))</p>",
            status: .forbidden,
            notice: Notice(kind: .error, text: "\(visit.t("请求被拒绝（403）", "Request refused (403)"))"))
    }

    /// Why a step was refused, in the person's language; the API's own words follow where they add something.
    func failureText(_ failure: ConsoleFailure, _ visit: Visit) -> HTML {
        let detail: HTML = failure.detail.map { " <span class=\"detail\">\($0)</span>" } ?? .empty
        switch failure.status {
        case 412, 428:
            return "<strong>\(visit.t("已被他人修改 — 请刷新页面", "Changed by someone else — reload"))</strong>：\(visit.t("您看到的内容已过时，此步骤未执行。", "what you saw is out of date; nothing was done.")) <a href=\"\(visit.location)\">\(visit.t("刷新", "Reload"))</a>"
        case 422:
            let items: [HTML] = failure.fields.map { "<li><code>\($0.field)</code> \(Labels.reason($0.reason, visit))</li>" }
            return "\(visit.t("请更正以下内容：", "Please correct:"))<ul>\(items)</ul>\(items.isEmpty ? detail : .empty)"
        case 409: return "\(visit.t("当前状态下不能执行此步骤。", "This step cannot be taken in the current state."))\(detail)"
        case 403: return "\(visit.t("您无权执行此操作。", "You may not do this."))\(detail)"
        case 404: return "\(visit.t("未找到，或不在您的权限范围内。", "Not found, or not yours to see."))\(detail)"
        case 401: return "\(visit.t("工号或密码不正确。", "Employee number or password is wrong."))"
        case 423:
            return "\(visit.t("该工号已被暂时锁定，请稍后再试", "This employee number is locked for now; try again later"))\(failure.retryAfter.map { HTML(raw: "（\(($0 + 59) / 60) min）") })"
        case 429: return "\(visit.t("尝试次数过多，请稍后再试。", "Too many attempts; try again later."))"
        case 503, 504: return "\(visit.t("系统繁忙，请稍后再试。", "The system is busy; try again shortly."))"
        default: return "\(failure.title)\(detail)"
        }
    }
}

extension Principal {
    /// Holds only functional-department grants: reads problems through its inbox, not the queues.
    var isFunctionalOnly: Bool { !grants.isEmpty && grants.allSatisfy { $0.role == .functionalDept } }
}
