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
            let problem = Problem(error)
            if problem.status >= 500 {
                context.logger.error("request failed", metadata: Self.loggable(error))
            }
            return problem.response(to: request, requestId: context.id)
        }
    }

    /// What of an error may be logged. The OpenAPI runtime's `ServerError` describes the whole
    /// request — bearer token, body with passwords or ID numbers — so only its operation and the
    /// underlying error go to the log.
    static func loggable(_ error: any Error) -> Logger.Metadata {
        if let serverError = error as? ServerError {
            return [
                "operation": "\(serverError.operationID)",
                "error": "\(String(reflecting: serverError.underlyingError))",
            ]
        }
        return ["error": "\(String(reflecting: error))"]
    }
}
