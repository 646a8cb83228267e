import Crypto
import Foundation

/// The signatures receivers check.
public enum WebhookSignature {
    /// `Huifang-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as Stripe signs:
    /// the timestamp is signed with the body, so a receiver can refuse an old request replayed.
    public static func huifang(secret: String, timestamp: Int, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Checks a `Huifang-Signature` header against the body (what a receiver does; the sink and tests use it).
    public static func verify(header: String, secret: String, body: [UInt8]) -> Bool {
        var timestamp: Int?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int(pair[1]) }
            if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let timestamp else { return false }
        let expected = huifang(secret: secret, timestamp: timestamp, body: body)
        return signatures.contains { "t=\(timestamp),v1=\($0)" == expected }
    }

    /// DingTalk's robot signature: `timestamp` (milliseconds) and `sign` = base64(HMAC-SHA256(secret,
    /// "<timestamp>\n<secret>")), sent as query parameters (URL-encoded).
    public static func dingTalkQuery(secret: String, milliseconds: Int64) -> String {
        let message = Array("\(milliseconds)\n\(secret)".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        let sign = Data(mac).base64EncodedString()
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "timestamp=\(milliseconds)&sign=\(sign.addingPercentEncoding(withAllowedCharacters: allowed) ?? sign)"
    }

    /// A new random secret for a webhook whose creator did not give one: 32 bytes, hex.
    public static func newSecret() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
    }
}
