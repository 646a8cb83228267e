import Crypto
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAPIRuntime
import Postgres
import Store

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}

/// `Idempotency-Key` on a POST: the first request runs and its response is kept for 24 hours with
/// the key, per staff member; a repeat with the same key and the same body gets that response back
/// (with `Idempotent-Replayed: true`) and changes nothing; the same key with another request is 422.
///
/// The key is written in the transaction of the effect (`Pool.transaction(for:)` sees the claim), so
/// a request whose effect committed always finds its key; the response is stored right after. If the
/// process dies in between, a repeat is told so (409) rather than doing it twice.
struct IdempotencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: IdempotencyKeys

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey], let principal = RequestPrincipal.current else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f }) else {
            throw AppError.invalid([.init("Idempotency-Key", "1 to 255 printable ASCII characters")])
        }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let hash = Self.hash(request, body: body)
        if let stored = try await keys.find(staffId: principal.staffId, key: key) {
            return try Self.replay(stored, hash: hash)
        }
        let claim = IdempotencyClaim(staffId: principal.staffId, key: key, requestHash: hash)
        var response: Response
        do {
            response = try await IdempotencyClaim.$current.withValue(claim) { try await next(request, context) }
        } catch {
            if !claim.isRecorded, let stored = try await keys.find(staffId: principal.staffId, key: key) {
                // A concurrent request with the same key committed first, and this one failed on its
                // effect (a taken unique value) or on the key itself: it is a repeat, answered as one.
                return try Self.replay(stored, hash: hash)
            }
            guard claim.isRecorded else { throw error }
            // The effect committed and then the request failed (reading its result back, say). A
            // "try again" would be false — a repeat only finds the key — so the answer, kept as the
            // key's, says the change was made and to read the object.
            context.logger.warning("request failed after its effect committed", metadata: ProblemMiddleware<Context>.loggable(error))
            response = Problem(
                type: "outcome-unknown", title: "The change was made, but its answer could not be prepared",
                status: 500, detail: "read the object to see it; repeating this request with the same Idempotency-Key answers the same"
            ).response(to: request, requestId: context.id)
        }
        guard claim.isRecorded else { return response }
        let collected = try await Self.collect(response.body)
        var headers: [String: String] = [:]
        for field in response.headers where Self.replayedHeaders.contains(field.name) {
            headers[field.name.canonicalName] = field.value
        }
        // The effect is committed: whatever happens to storing its answer, this request gets it.
        // (A repeat of a key whose answer was not stored is told the change was made: 409 in progress.)
        for attempt in 1...2 {
            do {
                try await keys.storeResponse(
                    staffId: principal.staffId, key: key, status: response.status.code, headers: headers,
                    body: Data(collected.readableBytesView))
                break
            } catch {
                context.logger.warning(
                    "could not keep the response of an idempotent request", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
            }
        }
        response.body = .init(byteBuffer: collected)
        return response
    }

    static var replayedHeaders: Set<HTTPField.Name> { [.contentType, .location, .eTag] }

    /// SHA-256 of method, path with query, and body.
    static func hash(_ request: Request, body: ByteBuffer) -> Data {
        var hasher = SHA256()
        hasher.update(data: Data("\(request.method.rawValue) \(request.uri.description)\n".utf8))
        hasher.update(data: Data(body.readableBytesView))
        return Data(hasher.finalize())
    }

    static func replay(_ stored: IdempotencyKeys.Stored, hash: Data) throws -> Response {
        guard stored.requestHash == hash else {
            throw Problem(
                type: "idempotency-key-reused", title: "This Idempotency-Key was used for another request", status: 422,
                detail: "a key stands for one request (method, path and body) for 24 hours; use a new key for a new request")
        }
        guard let status = stored.status else {
            throw Problem(
                type: "idempotency-key-in-progress", title: "A request with this Idempotency-Key is being processed", status: 409,
                detail: "its effect is committed but its response is not stored yet (or was lost); read the object to see the outcome")
        }
        var headers: HTTPFields = [.idempotentReplayed: "true"]
        for (name, value) in stored.headers {
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
    }

    static func collect(_ body: ResponseBody) async throws -> ByteBuffer {
        let collector = Collector()
        try await body.write(collector)
        return collector.buffer
    }

    /// A response body writer that keeps what is written.
    final class Collector: ResponseBodyWriter, @unchecked Sendable {
        var buffer = ByteBuffer()
        func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            self.buffer.writeBuffer(&buffer)
        }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
