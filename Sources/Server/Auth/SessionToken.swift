import Crypto
import Foundation

/// Opaque bearer tokens: 32 random bytes, base64url; the database keeps only their SHA-256.
enum SessionToken {
    static let lifetime: Duration = .seconds(12 * 3600)

    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()  // getrandom(2) on Linux
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }
}
