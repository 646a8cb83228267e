import Console
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Postgres
import Store

/// Resolves `Authorization: Bearer …` to the staff member behind it for every request but the public
/// ones, and refuses the request with 401 when there is none. Authorization proper (the permission
/// matrix and row-level security) happens in the handlers and the database.
///
/// A session read recently comes from `sessions` without a round trip; the database still checks it
/// on every request, in the request's first scoped statement (`RequestSession.check`), or here
/// before the answer leaves when the request opened no scoped transaction. A session found ended
/// is answered 401 and forgotten, whichever server it ended on.
struct AuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    let auth: AuthStore
    let sessions: SessionCache

    static func isPublic(_ request: Request) -> Bool {
        switch (request.method, request.uri.path) {
        case (.get, "/health"), (.get, "/metrics"), (.get, "/openapi.yaml"), (.post, "/sessions"): true
        default: false
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isPublic(request) { return try await next(request, context) }
        if Console.owns(request.uri.path) { return try await console(request, context: context, next: next) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            return Self.refuse(request, context)
        }
        let token = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.count <= 200 else { return Self.refuse(request, context) }
        return try await authenticated(token, request, context: context, next: next) { Self.refuse(request, context) }
    }

    /// The console carries the same session in a cookie instead of a header (and only the console:
    /// an API request never authenticates by cookie, so no other site's form can act through it).
    /// Without a live one the console's pages send the browser to sign in.
    private func console(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !Console.isPublic(request.uri.path), let token = Console.sessionToken(request), token.count <= 200 else {
            return try await next(request, context)
        }
        return try await authenticated(token, request, context: context, next: next) { Console.sessionEnded(request) }
    }

    private func authenticated(
        _ token: String, _ request: Request, context: Context, next: (Request, Context) async throws -> Response,
        refuse: () -> Response
    ) async throws -> Response {
        let tokenHash = SessionToken.hash(token)
        let session: RequestSession
        if let remembered = sessions.session(for: tokenHash) {
            session = remembered.forRequest()
        } else {
            guard let read = try await sessions.read(tokenHash, with: auth) else { return refuse() }
            session = read.forRequest()
            session.checked.mark()
        }
        context.logger.debug("authenticated", metadata: ["staff": "\(session.principal.staffId)"])
        let response: Response
        do {
            response = try await RequestSession.$current.withValue(session) { try await next(request, context) }
        } catch let error as PostgresError where error.isSessionEnded || error.isSessionGrantsChanged {
            sessions.forget(tokenHash)
            if error.isSessionEnded { return refuse() }
            throw error
        }
        if !session.checked.value {
            // Nothing of the request asked the database about the session: ask before answering.
            do {
                // On the authentication pool: `GET /me` answers while the request pool is flooded.
                _ = try await auth.pool.query(session.check)
            } catch let error as PostgresError where error.isSessionEnded {
                sessions.forget(tokenHash)
                return refuse()
            } catch let error as PostgresError where error.isSessionGrantsChanged {
                // The request read nothing under its grants (a scoped transaction would have renewed
                // them): its answer stands; the next request reads the session afresh.
                sessions.forget(tokenHash)
            }
        }
        return response
    }

    /// 401 as problem+json with the challenge header RFC 6750 asks for.
    static func refuse(_ request: Request, _ context: Context) -> Response {
        var response = AppError.unauthenticated.problem.response(to: request, requestId: context.id)
        response.headers[.wwwAuthenticate] = #"Bearer realm="huifang""#
        return response
    }
}
