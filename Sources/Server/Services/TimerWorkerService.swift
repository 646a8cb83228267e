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
        let engine = engine
        // The months the stages will be written to exist before the first batch (the scheduler keeps
        // creating them ahead every round).
        do {
            try await HistoryArchive.createPartitionsAhead(pool: engine.pool)
        } catch {
            logger.warning("could not create the history partitions ahead", metadata: ["error": "\(error)"])
        }
        let loops = BatchLoops(
            listen: listen, channel: "huifang_timers", workers: configuration.workers, batchSize: configuration.batchSize,
            pollInterval: configuration.pollInterval, logger: logger)
        await loops.run(
            batch: { [batchSize = configuration.batchSize] _, logger in
                let fired = try await engine.fireDue(limit: batchSize)
                if fired.stages > 0 {
                    logger.debug("fired timer stages", metadata: ["stages": "\(fired.stages)", "notifications": "\(fired.notifications)"])
                }
                return fired.stages
            },
            nextDue: { try await engine.nextDue() })
    }
}
