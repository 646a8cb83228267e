import API
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Postgres
import Store

/// The console: web pages under `/console` for the people who do the callbacks, sign the records
/// and move the problems. It has no rules of its own: every page reads and every form acts through
/// the API's own operations (`api`, the same handlers `openapi.yaml` routes to, run in-process),
/// so the permission matrix, the stores, row-level security, the ETag checks and the audit trail are
/// the API's; a form's body is first held to the operation's schema (`checkBody`), as a request is.
public struct Console: Sendable {
    let api: any APIProtocol
    let pool: Pool
    let calendar: CalendarStore
    /// What a thrown error means to a person: the API's problem (status, title, detail, fields).
    let explain: @Sendable (any Error) -> ConsoleFailure
    /// The problems of a JSON body for an operation of `openapi.yaml`, named by its operationId.
    let checkBody: @Sendable (_ operationId: String, _ body: Data) -> [ConsoleFailure.Field]
    let now: @Sendable () -> Date

    package init(
        api: any APIProtocol, pool: Pool, explain: @escaping @Sendable (any Error) -> ConsoleFailure,
        checkBody: @escaping @Sendable (String, Data) -> [ConsoleFailure.Field], now: @escaping @Sendable () -> Date
    ) {
        self.api = api
        self.pool = pool
        self.calendar = CalendarStore(pool: pool)
        self.explain = { ($0 as? ConsoleFailure) ?? explain($0) }
        self.checkBody = checkBody
        self.now = now
    }

    public static let root = "/console"
    public static let sessionCookie = "huifang_session"
    static let signInCookie = "huifang_signin"
    static let languageCookie = "huifang_lang"

    /// Whether the console answers `path` (the API never does).
    public static func owns(_ path: String) -> Bool {
        path == root || path.hasPrefix(root + "/")
    }

    /// The console's pages that need no session: signing in and the stylesheet.
    public static func isPublic(_ path: String) -> Bool {
        path == root + "/sign-in" || path == root + "/style.css" || path == root + "/language"
    }

    /// The session token the browser carries, if any.
    public static func sessionToken(_ request: Request) -> String? {
        guard let value = request.cookies[sessionCookie]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// The answer when the cookie names a session that ended: sign in again, and forget the cookie.
    public static func sessionEnded(_ request: Request) -> Response {
        var response = redirect(to: root + "/sign-in?next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        response.setCookie(expiredSessionCookie(request))
        return response
    }

    static func expiredSessionCookie(_ request: Request) -> Cookie {
        Cookie(name: sessionCookie, value: "", maxAge: 0, path: root, secure: isSecure(request), httpOnly: true, sameSite: .strict)
    }

    /// Served over TLS: directly, or (the usual deployment) by a proxy that says so.
    static func isSecure(_ request: Request) -> Bool {
        request.uri.scheme == .https || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// Text made safe inside HTML (the console's pages, and the API's printable record).
    public static func escapeHTML(_ text: String) -> String { HTML.escape(text) }

    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }
}

/// An error as a person sees it: the API's problem details.
public struct ConsoleFailure: Error, Sendable {
    public struct Field: Sendable {
        public var field: String
        public var reason: String
        public init(field: String, reason: String) {
            self.field = field
            self.reason = reason
        }
    }

    public var status: Int
    public var title: String
    public var detail: String?
    public var fields: [Field]
    public var retryAfter: Int?

    public init(status: Int, title: String, detail: String? = nil, fields: [Field] = [], retryAfter: Int? = nil) {
        self.status = status
        self.title = title
        self.detail = detail
        self.fields = fields
        self.retryAfter = retryAfter
    }
}
