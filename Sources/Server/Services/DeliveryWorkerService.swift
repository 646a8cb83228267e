import Delivery
import Foundation
import Logging
import NIOConcurrencyHelpers
import Postgres
import ServiceLifecycle
import Store

/// The delivery engine as a service: `workers` loops deliver due batches (see `BatchLoops`), woken by
/// `NOTIFY huifang_deliveries` (sent with every new delivery). Once a minute the first loop composes
/// the daily digest when it is due.
public struct DeliveryWorkerService: Service {
    public struct Configuration: Sendable {
        public var workers: Int = 1
        public var pollInterval: Duration = .seconds(1)
        public var engine = DeliveryEngine.Configuration()
        public init(workers: Int = 1, pollInterval: Duration = .seconds(1), engine: DeliveryEngine.Configuration = .init()) {
            self.workers = workers
            self.pollInterval = pollInterval
            self.engine = engine
        }
    }

    let engine: DeliveryEngine
    let listen: ConnectionConfiguration
    let configuration: Configuration
    let now: @Sendable () -> Date
    let logger: Logger

    public init(
        pool: Pool, listen: ConnectionConfiguration, configuration: Configuration = .init(), now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) throws {
        engine = try DeliveryEngine(pool: pool, configuration: configuration.engine, logger: logger)
        self.listen = listen
        self.configuration = configuration
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        let engine = engine
        let now = now
        let loops = BatchLoops(
            listen: listen, channel: "huifang_deliveries", workers: configuration.workers,
            batchSize: configuration.engine.batchSize, pollInterval: configuration.pollInterval, logger: logger)
        let digestCheck = DigestCheck()
        await loops.run(
            batch: { worker, logger in
                if worker == 0 && digestCheck.isDue() {
                    if let digests = try await engine.queue.composeDailyDigests(now: now()) {
                        logger.info("composed the daily digest", metadata: ["digests": "\(digests)"])
                    }
                }
                return try await engine.deliverDue()
            },
            nextDue: { try await engine.queue.nextDue() })
    }
}

/// At most once a minute: the digest is due at 08:30, and a minute late is on time.
private final class DigestCheck: Sendable {
    private let last = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    func isDue() -> Bool {
        last.withLockedValue { last in
            let now = ContinuousClock.now
            if let previous = last, now - previous < .seconds(60) { return false }
            last = now
            return true
        }
    }
}
