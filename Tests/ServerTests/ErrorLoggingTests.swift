import HTTPTypes
import Logging
import OpenAPIRuntime
import Postgres
import Testing

@testable import Server

@Suite("What failed requests leave in the log")
struct ErrorLoggingTests {
    struct Input: Sendable {
        var idNumber = "110101199003074578"
        var phone = "13812345678"
        var password = "correct horse battery"
    }

    /// The OpenAPI runtime's error describes the whole request; the log line must not carry its
    /// bearer token or body fields, only the operation and the underlying error.
    @Test func failedRequestsLogNeitherTokensNorBodies() {
        var request = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/clients")
        request.headerFields[.authorization] = "Bearer secret-token-value"
        let error = ServerError(
            operationID: "createClient", request: request, requestBody: nil, requestMetadata: .init(),
            operationInput: Input(), causeDescription: "User handler threw an error.",
            underlyingError: PostgresError(kind: .server, message: "boom"))
        #expect(String(describing: error).contains("secret-token-value"), "the runtime's own description carries the token")
        let logged = ProblemMiddleware<AppRequestContext>.loggable(error).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        #expect(logged.contains("createClient"))
        #expect(logged.contains("boom"))
        for secret in ["secret-token-value", "110101199003074578", "13812345678", "correct horse battery"] {
            #expect(!logged.contains(secret), "\(secret) reached the log")
        }
    }
}
