import Foundation
import Hummingbird
import Logging
import OpenAPIRuntime
import Postgres

/// Turns every error into an RFC 9457 `application/problem+json` response: a stable `type`, a title,
/// the request id, never a stack trace or SQL.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var problem = Problem(error)
            problem.instance = request.uri.path
            problem.requestId = context.id
            if problem.status >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            return problem.response()
        }
    }
}
