import Crypto
import Domain
import Foundation
import Hummingbird

/// One signed-in request to the console: who, in which language, and the form token of their session.
struct Visit: Sendable {
    let principal: Principal
    let language: Language
    /// The page's path and query, where the language switch comes back to.
    let location: String
    /// The token every form of this session carries (`CSRF`).
    let formToken: String
    let console: Console

    func t(_ zh: String, _ en: String) -> String { language == .zh ? zh : en }

    /// Whether the permission matrix gives the signed-in person `action` anywhere.
    func can(_ action: Action) -> Bool { principal.access(for: action) != nil }

    /// The hidden field every form carries.
    var formTokenField: HTML { "<input type=\"hidden\" name=\"_csrf\" value=\"\(formToken)\">" }
}

enum Language: String, Sendable {
    case zh, en

    /// The switch's cookie, else the first language of `Accept-Language` the console speaks; Chinese first.
    static func of(_ request: Request) -> Language {
        if let chosen = request.cookies[Console.languageCookie].flatMap({ Language(rawValue: $0.value) }) { return chosen }
        let accepted = (request.headers[.acceptLanguage] ?? "").lowercased()
        let ranked = accepted.split(separator: ",").map { part -> (String, Double) in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let q = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return (pieces.first ?? "", q)
        }.sorted { $0.1 > $1.1 }
        for (tag, _) in ranked {
            if tag.hasPrefix("zh") { return .zh }
            if tag.hasPrefix("en") { return .en }
        }
        return .zh
    }
}

/// Form tokens against cross-site requests. A session's token is the HMAC of a fixed label keyed
/// by the session token itself: only the browser holding the cookie and the server reading it can
/// compute it (the database keeps only the session token's hash), it needs no storage and survives
/// a restart, and it dies with the session. Sign-in, before there is a session, pairs a random
/// value in a cookie with the same value in the form.
enum CSRF {
    static func token(session: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("huifang console form".utf8), using: SymmetricKey(data: Data(session.utf8)))
        return Data(mac).base64URL
    }

    static func matches(_ given: String?, expected: String) -> Bool {
        guard let given, !expected.isEmpty else { return false }
        let a = Array(given.utf8), b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64URL
    }
}

extension Data {
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
