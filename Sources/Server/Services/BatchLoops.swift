import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// Worker loops that take due work in batches (timer stages, deliveries): after a full batch they go
/// again at once; otherwise they sleep until the next item is due, at most `pollInterval`, and wake
/// early on `NOTIFY <channel>`. Graceful shutdown lets the running batches finish.
struct BatchLoops: Sendable {
    var listen: ConnectionConfiguration
    var channel: String
    var workers: Int
    var batchSize: Int
    var pollInterval: Duration
    var logger: Logger

    /// `batch` takes one batch and returns how many items it took; `nextDue` says when the next one is due.
    func run(
        batch: @escaping @Sendable (_ worker: Int, _ logger: Logger) async throws -> Int,
        nextDue: @escaping @Sendable () async throws -> Date?
    ) async {
        let wake = WakeSignal()
        let notifications = NotificationListener.listen(listen, channels: [channel], logger: logger)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in notifications {
                        if wake.isClosed { break }
                        wake.signal()
                    }
                }
                for worker in 0..<workers {
                    group.addTask { await loop(worker, wake: wake, batch: batch, nextDue: nextDue) }
                }
                for _ in 0..<workers { await group.next() }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            wake.close()
        }
    }

    private func loop(
        _ worker: Int, wake: WakeSignal, batch: @Sendable (Int, Logger) async throws -> Int, nextDue: @Sendable () async throws -> Date?
    ) async {
        var logger = logger
        logger[metadataKey: "worker"] = "\(worker)"
        while !wake.isClosed {
            do {
                let taken = try await batch(worker, logger)
                if taken == batchSize { continue }
                // Sleep until the next item is due, but at least a moment when none was taken: due items
                // this worker could not take are being worked by another one right now.
                var sleep = pollInterval
                if let next = try await nextDue() {
                    sleep = min(sleep, .milliseconds(Int(max(0, next.timeIntervalSinceNow) * 1000)))
                }
                if taken == 0 { sleep = max(sleep, .milliseconds(5)) }
                if sleep > .zero { await wake.wait(timeout: sleep) }
            } catch {
                // Cancelled (the shutdown grace period ended): nothing to retry.
                if Task.isCancelled { return }
                logger.warning("\(channel) worker failed; retrying", metadata: ["error": "\(error)"])
                await wake.wait(timeout: pollInterval)
            }
        }
    }
}
