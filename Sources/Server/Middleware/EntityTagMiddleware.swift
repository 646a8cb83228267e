import Foundation
import HTTPTypes
import Hummingbird

/// The OpenAPI runtime percent-encodes header values, which turns `"problem-1-v3"` into
/// `%22problem-1-v3%22` — not an entity tag (RFC 9110 §8.8.3). This restores the quoted form.
struct EntityTagMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let tag = response.headers[.eTag], tag.contains("%"), let decoded = tag.removingPercentEncoding {
            response.headers[.eTag] = decoded
        }
        return response
    }
}
