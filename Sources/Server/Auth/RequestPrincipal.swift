import Domain
import Foundation
import Store

/// The signed-in staff member of the request being handled: the `RequestSession` that
/// `AuthenticationMiddleware` sets around everything after it (the OpenAPI handlers run in the same task).
enum RequestPrincipal {
    static var current: Principal? { RequestSession.current?.principal }
    /// SHA-256 of the bearer token, for telling this session from the others.
    static var tokenHash: Data? { RequestSession.current?.tokenHash }
    /// Where the request came from (the peer, or the trusted proxy's `X-Forwarded-For`), for throttling sign-ins.
    @TaskLocal static var sourceAddress: String?

    /// The source address as sign-in throttling counts it (an IPv6 address as its /64); worked out
    /// only by the requests that check a password.
    static var throttlingAddress: String? { sourceAddress.map(SourceAddressMiddleware.throttlingKey) }
}

extension APIService {
    /// The access the current request has for `action`: 401 without a session, 403 without a grant.
    func authorize(_ action: Action) throws -> Access {
        guard let principal = RequestPrincipal.current else { throw AppError.unauthenticated }
        guard let access = principal.access(for: action) else { throw AppError.forbidden(action) }
        return access
    }

    func signedIn() throws -> Principal {
        guard let principal = RequestPrincipal.current else { throw AppError.unauthenticated }
        return principal
    }
}
