import API
import Foundation
import HTTPTypes
import Hummingbird
import Postgres

/// Signing in and out, the stylesheet and the language switch: the same credentials, lockout and
/// session store as `POST /sessions` (the console calls that operation), the token in a cookie.
extension Console {
    func registerFrame<R: RouterMethods>(_ router: R) {
        router.get(RouterPath(Self.root + "/style.css")) { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: Stylesheet.css)))
        }
        router.get(RouterPath(Self.root + "/language")) { request, _ -> Response in
            let query = FormData(request.uri.query ?? "")
            let language = query["to"].flatMap(Language.init(rawValue:)) ?? .zh
            var response = Self.redirect(to: Self.safeReturn(query["back"]))
            response.setCookie(Cookie(
                name: Self.languageCookie, value: language.rawValue, maxAge: 365 * 86_400, path: Self.root,
                secure: Self.isSecure(request), httpOnly: true, sameSite: .strict))
            return response
        }
        router.get(RouterPath(Self.root + "/sign-in")) { request, _ -> Response in
            self.signInPage(request, next: FormData(request.uri.query ?? "")["next"], failure: nil)
        }
        router.post(RouterPath(Self.root + "/sign-in")) { request, _ -> Response in
            let form = FormData(String(buffer: try await request.body.collect(upTo: 64 * 1024)))
            let next = form["next"]
            guard let expected = request.cookies[Self.signInCookie]?.value, CSRF.matches(form["_csrf"], expected: expected) else {
                return self.signInPage(request, next: next, failure: ConsoleFailure(status: 403, title: "form token"))
            }
            do {
                let body = try self.checked(
                    "signIn", Components.Schemas.SignIn(employeeNo: form["employeeNo"] ?? "", password: form["password"] ?? ""))
                let session = try await self.api.signIn(body: .json(body)).created.body.json
                var response = Self.redirect(to: Self.safeReturn(next))
                response.setCookie(Cookie(
                    name: Self.sessionCookie, value: session.token, path: Self.root, secure: Self.isSecure(request),
                    httpOnly: true, sameSite: .strict))
                response.setCookie(Cookie(name: Self.signInCookie, value: "", maxAge: 0, path: Self.root, httpOnly: true, sameSite: .strict))
                return response
            } catch {
                return self.signInPage(request, next: next, failure: self.explain(error))
            }
        }
    }

    func registerSignOut<R: RouterMethods>(_ router: R) {
        action(router, RouterPath(Self.root + "/sign-out")) { request, _, _, _ in
            // The session row ends here as `DELETE /sessions/current` ends it; already ended is fine too.
            _ = try? await self.api.signOut(.init())
            var response = Self.redirect(to: Self.root + "/sign-in")
            response.setCookie(Self.expiredSessionCookie(request))
            return response
        }
    }

    /// Where to go after signing in or switching language: a console page, never another site.
    static func safeReturn(_ candidate: String?) -> String {
        guard let candidate, owns(candidate.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""),
              !candidate.contains("//"), !candidate.contains("\\")
        else { return root }
        return candidate
    }

    func signInPage(_ request: Request, next: String?, failure: ConsoleFailure?) -> Response {
        let language = Language.of(request)
        func t(_ zh: String, _ en: String) -> String { language == .zh ? zh : en }
        let token = CSRF.random()
        var message: HTML = .empty
        if let failure {
            let text: String =
                switch failure.status {
                case 403: t("表单已失效，请重新登录。", "The form expired; please sign in again.")
                case 423: t("该工号已被暂时锁定，请 15 分钟后再试。", "This employee number is locked; try again in 15 minutes.")
                case 429: t("登录尝试过多，请稍后再试。", "Too many sign-in attempts; try again later.")
                case 422: t("请输入工号和密码。", "Enter your employee number and password.")
                default: t("工号或密码不正确。", "Employee number or password is wrong.")
                }
            message = "<div class=\"notice error\" role=\"alert\">\(text)</div>"
        }
        let other: Language = language == .zh ? .en : .zh
        let html: HTML = """
            <!doctype html><html lang="\(language == .zh ? "zh-CN" : "en")"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(t("登录", "Sign in")) · \(t("回访", "Huifang"))</title><link rel="stylesheet" href="\(Self.root)/style.css"></head>
            <body><form class="signin" method="post" action="\(Self.root)/sign-in">
            <h1>回访 Huifang</h1><p class="muted">\(t("客户回访合规工作台", "Client callback compliance console"))</p>
            \(message)
            <input type="hidden" name="_csrf" value="\(token)"><input type="hidden" name="next" value="\(Self.safeReturn(next))">
            <label for="employeeNo">\(t("工号", "Employee number"))</label><input type="text" id="employeeNo" name="employeeNo" autocomplete="username" required autofocus>
            <label for="password">\(t("密码", "Password"))</label><input type="password" id="password" name="password" autocomplete="current-password" required>
            <p><button class="primary" type="submit" id="sign-in">\(t("登录", "Sign in"))</button>
            <a class="right" href="\(Self.root)/language?to=\(other.rawValue)&amp;back=\(Self.root)/sign-in">\(other == .zh ? "中文" : "English")</a></p>
            </form></body></html>
            """
        var response = Response.html(html, status: failure.map { .init(code: $0.status) } ?? .ok)
        response.setCookie(Cookie(
            name: Self.signInCookie, value: token, maxAge: 3600, path: Self.root, secure: Self.isSecure(request), httpOnly: true,
            sameSite: .strict))
        return response
    }
}
