/// How a channel reaches people.
public enum ChannelKind: String, Sendable, CaseIterable, Codable {
    /// Any HTTPS endpoint: JSON, signed (`Huifang-Signature`), with an idempotency id.
    case webhook
    /// A WeCom (企业微信) group robot: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
    case wecom
    /// A DingTalk (钉钉) group robot, signed with its secret: https://oapi.dingtalk.com/robot/send?access_token=…
    case dingtalk
    /// E-mail through the server's SMTP relay.
    case email

    public var isWebhook: Bool { self != .email }
}

/// What a channel subscribes to.
public enum DeliveryKind: String, Sendable, CaseIterable, Codable {
    case warning, breach, escalation, handoff, digest

    /// Branch roles that receive the daily digest: the branch's leaders (issue 21).
    public static let digestBranchRoles: Set<Role> = [.opsDirector, .marketingDirector, .branchManager]
}
