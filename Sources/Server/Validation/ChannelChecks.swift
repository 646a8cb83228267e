import Delivery
import Domain
import Foundation
import Store

/// The checks of a channel's fields, each problem named by field; the URL against the safety rules
/// with the host's exceptions (`allowance` reads them in the request's transaction).
enum ChannelChecks {
    static func owner(branchId: Int32?, role: Role?, departmentId: Int32?) -> [Problem.FieldError] {
        switch (branchId, role, departmentId) {
        case (.some, .some(let role), nil):
            return role.scope == .branch ? [] : [.init("role", "must be a branch role; an HQ department's channel names departmentId")]
        case (nil, nil, .some): return []
        case (.some, nil, nil): return [.init("role", "a branch's channel names the role it serves")]
        default: return [.init("departmentId", "name either branchId with role, or departmentId")]
        }
    }

    static func kinds(_ kinds: [DeliveryKind], role: Role?, field: String = "notificationKinds") -> [Problem.FieldError] {
        var problems: [Problem.FieldError] = []
        if Set(kinds).count != kinds.count { problems.append(.init(field, "must not repeat a kind")) }
        if kinds.contains(.digest), let role, !DeliveryKind.digestBranchRoles.contains(role) {
            problems.append(.init(field, "the digest goes to departments and branch leaders (ops_director, marketing_director, branch_manager)"))
        }
        return problems
    }

    static func addresses(_ addresses: [String]?, field: String = "addresses") -> [Problem.FieldError] {
        guard let addresses else { return [] }
        return addresses.enumerated().flatMap { index, address in
            // An address is written into SMTP commands: no line breaks, no angle brackets.
            address.contains(where: { "<>\r\n".contains($0) })
                ? [.init("\(field)[\(index)]", "must be an email address")] : Validate.email(address, field: "\(field)[\(index)]")
        }
    }

    /// The target fields a channel of `kind` needs, and no others.
    static func target(kind: ChannelKind, url: String?, secret: String?, addresses: [String]?) -> [Problem.FieldError] {
        var problems: [Problem.FieldError] = []
        if kind == .email {
            if addresses == nil { problems.append(.init("addresses", "an email channel needs at least one address")) }
            if url != nil { problems.append(.init("url", "an email channel has no URL")) }
            if secret != nil { problems.append(.init("secret", "an email channel has no secret")) }
        } else {
            if url == nil { problems.append(.init("url", "a \(kind.rawValue) channel needs its URL")) }
            if addresses != nil { problems.append(.init("addresses", "only an email channel has addresses")) }
            if kind == .wecom && secret != nil { problems.append(.init("secret", "a WeCom robot is not signed: its key is in the URL")) }
        }
        if let secret, secret.count < 16 || secret.count > 200 || secret.contains(where: \.isWhitespace) {
            problems.append(.init("secret", "must be 16–200 characters without spaces"))
        }
        return problems
    }

    /// The URL as written, against the safety rules and the host's exceptions.
    static func url(_ url: String, allowance: (String) async throws -> WebhookTarget.Allowance) async throws -> [Problem.FieldError] {
        switch WebhookTarget.parse(url) {
        case .failure(let refusal):
            return [.init("url", refusal.description)]
        case .success(let target):
            return target.refusal(allowance: try await allowance(target.host)).map { [.init("url", $0.description)] } ?? []
        }
    }

    /// A URL as the API shows it: query values (robot keys and tokens) masked.
    static func masked(_ url: String?) -> String? {
        guard let url, var components = URLComponents(string: url), let items = components.queryItems, !items.isEmpty else { return url }
        components.queryItems = items.map { URLQueryItem(name: $0.name, value: $0.value == nil ? nil : "***") }
        return components.string ?? url
    }
}
