import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport

/// A browser for the console over HummingbirdTesting: it keeps the cookies the console sets (path
/// /console), reads the form token out of the page it last loaded, and posts forms.
final class ConsoleBrowser: @unchecked Sendable {
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]
    var language: String?
    /// The `_csrf` of the last page loaded.
    var formToken: String?

    struct Page {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var html: String
        var location: String? { headers[.location] }
        /// Each `Set-Cookie` line.
        var setCookies: [String] { headers[values: .setCookie] }
    }

    init(_ client: any TestClientProtocol) {
        self.client = client
    }

    /// Signs in through the sign-in page, as a person would.
    static func signedIn(_ client: any TestClientProtocol, as employeeNo: String, password: String = OrganizationFixture.password) async throws -> ConsoleBrowser {
        let browser = ConsoleBrowser(client)
        let reply = try await browser.signIn(employeeNo, password: password)
        guard reply.status == .seeOther, browser.cookies["huifang_session"] != nil else {
            throw TestFailure("console sign-in of \(employeeNo): \(reply.status) \(reply.html)")
        }
        return browser
    }

    @discardableResult
    func signIn(_ employeeNo: String, password: String, headers: [String: String] = [:]) async throws -> Page {
        _ = try await get("/console/sign-in")
        return try await post("/console/sign-in", ["employeeNo": employeeNo, "password": password], headers: headers)
    }

    @discardableResult
    func get(_ uri: String, headers: [String: String] = [:]) async throws -> Page {
        try await send(.get, uri, body: nil, headers: headers)
    }

    /// Posts a form with the page's token (unless `token` says otherwise: nil sends none).
    @discardableResult
    func post(_ uri: String, _ fields: [String: String] = [:], token: String?? = .some(nil), headers: [String: String] = [:]) async throws -> Page {
        var fields = fields
        switch token {
        case .none: break
        case .some(nil): if let formToken { fields["_csrf"] = formToken }
        case .some(.some(let given)): fields["_csrf"] = given
        }
        let body = fields.map { "\(Self.encode($0.key))=\(Self.encode($0.value))" }.joined(separator: "&")
        return try await send(.post, uri, body: body, headers: headers)
    }

    private func send(_ method: HTTPRequest.Method, _ uri: String, body: String?, headers extra: [String: String]) async throws -> Page {
        var headers: HTTPFields = [:]
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        if let language { headers[.acceptLanguage] = language }
        if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let page = Page(status: response.status, headers: response.headers, html: String(buffer: response.body))
        for line in page.setCookies {
            let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if line.contains("Max-Age=0") || value.isEmpty { cookies[name] = nil } else { cookies[name] = value }
        }
        if let range = page.html.range(of: #"name="_csrf" value="([^"]+)""#, options: .regularExpression) {
            formToken = String(page.html[range]).components(separatedBy: "value=\"")[1].dropLast().description
        }
        return page
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The value of the hidden `etag` input on a page.
func hiddenETag(_ html: String) -> String? {
    guard let range = html.range(of: #"name="etag" value="([^"]+)""#, options: .regularExpression) else { return nil }
    return String(html[range]).components(separatedBy: "value=\"")[1].dropLast().description.replacingOccurrences(of: "&quot;", with: "\"")
}
