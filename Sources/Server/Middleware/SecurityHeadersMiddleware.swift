import HTTPTypes
import Hummingbird

/// Headers every response carries, as OWASP's REST and secure-headers guidance asks of a service
/// that holds clients' personal data: no MIME sniffing, no referrer, nothing cached, never framed.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        Self.apply(to: &response.headers, path: request.uri.path)
        return response
    }

    static func apply(to headers: inout HTTPFields, path: String) {
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "no-referrer"
        headers[.xFrameOptions] = "DENY"
        if headers[.contentSecurityPolicy] == nil {
            headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        }
        // The API description is public and the same for everyone; every other answer may hold personal data.
        if path != "/openapi.yaml" { headers[.cacheControl] = "no-store" }
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
}
