import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Store

/// Resolves `Authorization: Bearer …` to the staff member behind it for every request but the public
/// ones, and refuses the request with 401 when there is none. Authorization proper (the permission
/// matrix and row-level security) happens in the handlers and the database.
struct AuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    let auth: AuthStore

    static func isPublic(_ request: Request) -> Bool {
        switch (request.method, request.uri.path) {
        case (.get, "/health"), (.get, "/metrics"), (.get, "/openapi.yaml"), (.post, "/sessions"): true
        default: false
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isPublic(request) { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            return Self.refuse(request, context)
        }
        let token = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.count <= 200 else { return Self.refuse(request, context) }
        let tokenHash = SessionToken.hash(token)
        guard let (principal, _) = try await auth.authenticate(tokenHash: tokenHash) else {
            return Self.refuse(request, context)
        }
        context.logger.debug("authenticated", metadata: ["staff": "\(principal.staffId)"])
        return try await RequestPrincipal.$current.withValue(principal) {
            try await RequestPrincipal.$tokenHash.withValue(tokenHash) {
                try await next(request, context)
            }
        }
    }

    /// 401 as problem+json with the challenge header RFC 6750 asks for.
    static func refuse(_ request: Request, _ context: Context) -> Response {
        var response = AppError.unauthenticated.problem.response(to: request, requestId: context.id)
        response.headers[.wwwAuthenticate] = #"Bearer realm="huifang""#
        return response
    }
}
