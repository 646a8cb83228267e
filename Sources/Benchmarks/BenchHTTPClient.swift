import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What one HTTP request got: a status (nil when no answer came: refused, reset or timed out), the
/// problem `type` of an error, and how long it took.
struct HTTPAnswer: Sendable {
    var status: Int?
    var problemType: String?
    var replayed: Bool
    var body: Data
    var started: ContinuousClock.Instant
    var elapsed: Duration
    var failure: String?

    var ended: ContinuousClock.Instant { started + elapsed }
    var succeeded: Bool { status.map { (200..<300).contains($0) } ?? false }
    var isOutcomeUnknown: Bool { status == 500 && problemType?.hasSuffix("/outcome-unknown") == true }
    var timedOut: Bool { failure?.contains("timed out") == true }
}

/// A small HTTP client for the benchmarks that talk to a running `huifang serve`: every request has a
/// timeout, so a hang is counted instead of stalling the benchmark.
final class BenchHTTPClient: Sendable {
    let base: URL
    private let session: URLSession

    convenience init(port: Int, connections: Int) {
        self.init(base: URL(string: "http://127.0.0.1:\(port)")!, connections: connections)
    }

    init(base: URL, connections: Int) {
        self.base = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = connections
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    func send(
        _ method: String, _ path: String, token: String? = nil, json: Data? = nil, headers: [String: String] = [:],
        timeout: Duration
    ) async -> HTTPAnswer {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        request.timeoutInterval = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = json
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let started = ContinuousClock.now
        do {
            let (data, response) = try await session.data(for: request)
            let http = response as? HTTPURLResponse
            let status = http?.statusCode
            let type = status.flatMap { $0 >= 400 ? try? JSONDecoder().decode(ProblemType.self, from: data).type : nil }
            let replayed = http?.value(forHTTPHeaderField: "Idempotent-Replayed") == "true"
            return HTTPAnswer(
                status: status, problemType: type, replayed: replayed, body: data, started: started, elapsed: .now - started,
                failure: nil)
        } catch {
            return HTTPAnswer(
                status: nil, problemType: nil, replayed: false, body: Data(), started: started, elapsed: .now - started,
                failure: error.localizedDescription)
        }
    }

    func invalidate() { session.invalidateAndCancel() }

    private struct ProblemType: Decodable { var type: String? }
}
