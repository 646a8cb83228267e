import Domain
import Foundation

/// The HTTP request or e-mail a delivery becomes on its channel.
public struct OutboundRequest: Sendable {
    public var body: [UInt8]
    public var headers: [(String, String)]
    /// Appended to the URL's query (DingTalk's signature).
    public var extraQuery: String?

    /// The header carrying the delivery id, the same on every attempt: receivers drop repeats by it.
    public static let idempotencyHeader = "Huifang-Delivery-Id"
    public static let signatureHeader = "Huifang-Signature"

    /// Builds the request for a webhook-like channel.
    public static func webhook(
        kind: ChannelKind, deliveryId: Int64, deliveryKind: DeliveryKind, facts: DeliveryFacts, secret: String?, now: Date
    ) throws -> OutboundRequest {
        let message = DeliveryMessage(kind: deliveryKind, facts: facts)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var headers = [("Content-Type", "application/json; charset=utf-8"), (idempotencyHeader, String(deliveryId))]
        switch kind {
        case .webhook:
            let body = Array(try encoder.encode(WebhookBody(id: deliveryId, kind: deliveryKind.rawValue, subject: message.subject,
                                                              text: message.text, facts: facts)))
            if let secret {
                headers.append((signatureHeader, WebhookSignature.huifang(secret: secret, timestamp: Int(now.timeIntervalSince1970), body: body)))
            }
            return OutboundRequest(body: body, headers: headers, extraQuery: nil)
        case .wecom:
            let body = Array(try encoder.encode(["msgtype": AnyText("text"), "text": AnyText(content: message.text)]))
            return OutboundRequest(body: body, headers: headers, extraQuery: nil)
        case .dingtalk:
            let body = Array(try encoder.encode(["msgtype": AnyText("text"), "text": AnyText(content: message.text)]))
            let query = secret.map { WebhookSignature.dingTalkQuery(secret: $0, milliseconds: Int64(now.timeIntervalSince1970 * 1000)) }
            return OutboundRequest(body: body, headers: headers, extraQuery: query)
        case .email:
            throw WebhookTarget.Refusal("an e-mail channel has no webhook")
        }
    }

    struct WebhookBody: Encodable {
        var id: Int64
        var kind: String
        var subject: String
        var text: String
        var facts: DeliveryFacts
    }

    /// `"text"` or `{"content": "…"}`: the two shapes the robots' JSON needs.
    struct AnyText: Encodable {
        var value: String?
        var content: String?
        init(_ value: String) { self.value = value }
        init(content: String) { self.content = content }
        func encode(to encoder: any Encoder) throws {
            if let value {
                var container = encoder.singleValueContainer()
                try container.encode(value)
            } else {
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(content, forKey: .content)
            }
        }
        enum Key: String, CodingKey { case content }
    }
}
