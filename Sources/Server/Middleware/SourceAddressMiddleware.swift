import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers

/// Puts the request's source address where the sign-in handler finds it: the peer's, or, behind a
/// proxy the operator trusts, the last address that proxy appended to `X-Forwarded-For`. An IPv6
/// address counts as its /64, which one machine can rotate through at will.
struct SourceAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let trustForwardedFor: Bool
    private let warned = NIOLockedValueBox(false)

    init(trustForwardedFor: Bool) {
        self.trustForwardedFor = trustForwardedFor
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var address = context.peerAddress
        if let forwarded = request.headers[.xForwardedFor] {
            if trustForwardedFor {
                if let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), Self.isAddress(last) {
                    address = last
                }
            } else if !warned.withLockedValue({ let was = $0; $0 = true; return was }) {
                context.logger.warning(
                    "requests arrive through a proxy (X-Forwarded-For) that is not trusted: sign-in throttling counts the proxy's address for everyone; set HUIFANG_TRUST_FORWARDED_FOR=1 if the proxy sets the header")
            }
        }
        return try await RequestPrincipal.$sourceAddress.withValue(address) {
            try await next(request, context)
        }
    }

    static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// IPv4 as it is; IPv6 as its /64 network.
    static func throttlingKey(_ address: String) -> String {
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return address }
        var bytes = withUnsafeBytes(of: v6) { Array($0) }
        for index in 8..<16 { bytes[index] = 0 }
        var network = in6_addr()
        withUnsafeMutableBytes(of: &network) { $0.copyBytes(from: bytes) }
        var buffer = [UInt8](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let written = buffer.withUnsafeMutableBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { inet_ntop(AF_INET6, &network, $0.baseAddress, socklen_t($0.count)) }
        }
        guard written != nil else { return address }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self) + "/64"
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
