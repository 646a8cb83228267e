import Foundation
import NIOCore
import NIOConcurrencyHelpers

/// What one phase of HTTP load got: every answer's latency, the non-2xx counted apart, and the CPU
/// the server and the load generator used meanwhile.
struct LoadResult: Sendable {
    var connections: Int
    var succeeded: Int
    var failed: Int
    var firstFailure: String?
    var latencies: [Double]  // milliseconds, sorted, successful requests only
    var seconds: Double
    /// The supply of fresh objects ran out before the time was up.
    var exhausted: Bool
    var serverCPUSeconds: Double?
    var clientCPUSeconds: Double?

    var rate: Double { Double(succeeded) / max(seconds, 0.001) }
    func percentile(_ q: Double) -> Double { latencies.quantile(q) }
    var serverCPUMillisecondsPerRequest: Double? { serverCPUSeconds.map { $0 * 1000 / Double(max(succeeded + failed, 1)) } }
}

/// Drives `connections` keep-alive connections for a fixed time, each sending the next request of
/// its own as soon as the previous answer is in (closed loop, as wrk does).
struct LoadRun: Sendable {
    var host: String
    var port: Int
    var connections: Int
    var group: any EventLoopGroup
    var serverPID: Int32?

    /// `next(connection)`: the request to send, nil when the supply is exhausted; `answered` sees
    /// every 2xx answer (the phases that feed the next one collect ids there).
    func run(
        for duration: Duration, next: @escaping @Sendable (Int) -> LoadRequest?,
        answered: @escaping @Sendable (_ connection: Int, LoadRequest, LoadAnswer) -> Void = { _, _, _ in }
    ) async throws -> LoadResult {
        let serverBefore = serverPID.flatMap(ProcessCPU.seconds(of:)), clientBefore = ProcessCPU.ownSeconds
        let started = ContinuousClock.now
        let deadline = started + duration
        let exhausted = NIOLockedValueBox(false)
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { tasks in
            for connection in 0..<connections {
                tasks.addTask { [self] in
                    try await LoadConnection.with(host: host, port: port, group: group) { channel in
                        var outcome = Outcome()
                        while ContinuousClock.now < deadline {
                            guard let request = next(connection) else {
                                exhausted.withLockedValue { $0 = true }
                                break
                            }
                            let sent = ContinuousClock.now
                            let answer: LoadAnswer
                            do {
                                answer = try await channel.send(request)
                            } catch {
                                outcome.failed += 1
                                outcome.firstFailure = outcome.firstFailure ?? "\(request.method) \(request.path): \(error)"
                                break
                            }
                            if answer.succeeded {
                                outcome.latencies.append((ContinuousClock.now - sent).milliseconds)
                                answered(connection, request, answer)
                            } else {
                                outcome.failed += 1
                                outcome.firstFailure = outcome.firstFailure
                                    ?? "\(request.method) \(request.path): \(answer.status) \(String(buffer: answer.body).prefix(300))"
                            }
                        }
                        return outcome
                    }
                }
            }
            return try await tasks.reduce(into: [Outcome]()) { $0.append($1) }
        }
        let elapsed = (ContinuousClock.now - started).milliseconds / 1000
        let serverAfter = serverPID.flatMap(ProcessCPU.seconds(of:)), clientAfter = ProcessCPU.ownSeconds
        return LoadResult(
            connections: connections, succeeded: outcomes.reduce(0) { $0 + $1.latencies.count }, failed: outcomes.reduce(0) { $0 + $1.failed },
            firstFailure: outcomes.lazy.compactMap(\.firstFailure).first,
            latencies: outcomes.flatMap(\.latencies).sorted(), seconds: elapsed, exhausted: exhausted.withLockedValue { $0 },
            serverCPUSeconds: serverBefore.flatMap { before in serverAfter.map { $0 - before } },
            clientCPUSeconds: clientBefore.flatMap { before in clientAfter.map { $0 - before } })
    }

    private struct Outcome: Sendable {
        var latencies: [Double] = []
        var failed = 0
        var firstFailure: String?
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
