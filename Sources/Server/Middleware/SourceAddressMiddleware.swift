import Foundation
import HTTPTypes
import Hummingbird

/// Puts the request's source address where the sign-in handler finds it: the peer's, or, behind a
/// proxy the operator trusts, the last address that proxy appended to `X-Forwarded-For`.
struct SourceAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let trustForwardedFor: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var address = context.peerAddress
        if trustForwardedFor, let forwarded = request.headers[.xForwardedFor],
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            address = String(last.prefix(64))
        }
        return try await RequestPrincipal.$sourceAddress.withValue(address) { try await next(request, context) }
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
