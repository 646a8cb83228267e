import Console
import Domain
import Foundation
import HTTPTypes
import Hummingbird

/// Holds every request to `openapi.yaml` before a handler sees it: a body within its size limit
/// (413 before it is read whole), parameters and JSON body within every constraint the spec states
/// (422 naming each field and rule, never a Swift type), no control characters in any text.
struct ContractMiddleware<Context: RequestContext>: RouterMiddleware {
    let contract: APIContract
    /// Bodies above this are refused unless the operation states its own `x-max-body-bytes`.
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The console's pages are not operations of the API: their forms are checked against the
        // operation each one calls (`Console.checkBody`).
        if Console.owns(request.uri.path) { return try await next(request, context) }
        let resource = contract.resource(request.uri.path)
        guard !resource.isEmpty else { return try await next(request, context) }
        guard let (operation, pathValues) = resource.first(where: { $0.operation.method == request.method }) else {
            let allowed = Set(resource.map(\.operation.method.rawValue)).sorted()
            var response = Problem(
                type: "method-not-allowed", title: "This path does not take \(request.method.rawValue)", status: 405,
                detail: "it takes " + allowed.joined(separator: ", ")
            ).response(to: request, requestId: context.id)
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        }
        let limit = operation.maxBodyBytes ?? maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw Self.tooLarge(limit)
        }
        var problems: [Problem.FieldError] = []
        let query = Self.queryValues(request.uri.query ?? "")
        for parameter in operation.parameters {
            switch parameter.location {
            case "path": problems += parameter.problems(with: pathValues[parameter.name].map { [$0] } ?? [])
            case "query": problems += parameter.problems(with: query[parameter.name] ?? [])
            case "header":
                let values = HTTPField.Name(parameter.name).map { request.headers[values: $0] } ?? []
                problems += parameter.problems(with: values)
            default: break
            }
        }
        var request = request
        if let schema = operation.body {
            let buffer: ByteBuffer
            do { buffer = try await request.body.collect(upTo: limit) } catch let error as HTTPError where error.status == .contentTooLarge {
                throw Self.tooLarge(limit)
            }
            request.body = .init(buffer: buffer)
            if buffer.readableBytes == 0 {
                if operation.bodyRequired { problems.append(.init("body", "is required: send the JSON object described for this operation")) }
            } else if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) {
                problems += schema.problems(with: value, at: "")
            } else {
                problems.append(.init("body", "is not valid JSON"))
            }
        }
        try Validate.throwing(problems)
        return try await next(request, context)
    }

    /// The query as the OpenAPI runtime reads it — names and values percent-decoded, `+` a space,
    /// invalid UTF-8 empty — so that no spelling of a name reaches a handler unchecked.
    static func queryValues(_ query: String) -> [String: [String]] {
        var values: [String: [String]] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            values[decoded(parts[0]), default: []].append(parts.count > 1 ? decoded(parts[1]) : "")
        }
        return values
    }

    static func tooLarge(_ limit: Int) -> Problem {
        Problem(
            type: "payload-too-large", title: "The request body is too large", status: 413,
            detail: "this operation takes at most \(limit) bytes")
    }
}
