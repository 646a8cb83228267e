import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Store

/// The SLA engine as a service: `workers` loops fire due timer stages in batches; between batches
/// they sleep until the next timer is due, at most `pollInterval`, and wake early on
/// `NOTIFY huifang_timers` (sent when a timer becomes due within seconds).
public struct TimerWorkerService: Service {
    public struct Configuration: Sendable {
        public var workers: Int = 2
        public var batchSize: Int = 500
        public var pollInterval: Duration = .seconds(1)
        public init(workers: Int = 2, batchSize: Int = 500, pollInterval: Duration = .seconds(1)) {
            self.workers = workers
            self.batchSize = batchSize
            self.pollInterval = pollInterval
        }
    }

    let engine: SLAEngine
    let listen: ConnectionConfiguration
    let configuration: Configuration
    let logger: Logger

    public init(pool: Pool, listen: ConnectionConfiguration, configuration: Configuration = .init(), logger: Logger) {
        self.engine = SLAEngine(pool: pool)
        self.listen = listen
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let wake = WakeSignal()
        let notifications = NotificationListener.listen(listen, channels: ["huifang_timers"], logger: logger)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in notifications {
                        if wake.isClosed { break }
                        wake.signal()
                    }
                }
                for worker in 0..<configuration.workers {
                    group.addTask { await loop(worker, wake: wake) }
                }
                for _ in 0..<configuration.workers { await group.next() }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            wake.close()
        }
    }

    private func loop(_ worker: Int, wake: WakeSignal) async {
        var logger = logger
        logger[metadataKey: "worker"] = "\(worker)"
        while !wake.isClosed {
            do {
                let fired = try await engine.fireDue(limit: configuration.batchSize)
                if fired.stages > 0 {
                    logger.debug("fired timer stages", metadata: ["stages": "\(fired.stages)", "notifications": "\(fired.notifications)"])
                }
                if fired.stages == configuration.batchSize { continue }
                // Sleep until the next timer is due, but at least a moment: due timers this worker
                // could not take are being fired by another one right now.
                var sleep = configuration.pollInterval
                if let next = try await engine.nextDue() {
                    sleep = min(sleep, .milliseconds(Int(max(0, next.timeIntervalSinceNow) * 1000)))
                }
                if fired.stages == 0 { sleep = max(sleep, .milliseconds(5)) }
                if sleep > .zero { await wake.wait(timeout: sleep) }
            } catch {
                logger.warning("timer worker failed; retrying", metadata: ["error": "\(error)"])
                await wake.wait(timeout: configuration.pollInterval)
            }
        }
    }
}
