import Domain
import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Store

/// Keeps the current month's obligations generated: every `interval`, draws what has become due —
/// yesterday's opening-day samples, a new month's core clients, a new half-year or year — under a
/// transaction-level advisory lock, so several servers never draw the same window at once. Runs
/// are idempotent; back-fills of earlier periods are `huifang obligations generate --period`.
public struct ObligationSchedulerService: Service {
    public struct Configuration: Sendable {
        public var interval: Duration
        public init(interval: Duration = .seconds(300)) {
            self.interval = interval
        }
    }

    /// `pg_advisory_xact_lock` key: "huifang obligations".
    static let lockKey: Int64 = 0x6875_6966_6f62_6c67

    let pool: Pool
    let configuration: Configuration
    let now: @Sendable () -> Date
    let logger: Logger

    public init(pool: Pool, configuration: Configuration = .init(), now: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.pool = pool
        self.configuration = configuration
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let lines = try await Self.generateCurrent(pool: pool, today: PostgresDate.shanghai(now()))
                let tasks = lines.reduce(0) { $0 + $1.tasks }
                if tasks > 0 { logger.info("generated callback tasks", metadata: ["tasks": "\(tasks)"]) }
            } catch {
                logger.warning("obligation scheduler failed; retrying next round", metadata: ["error": "\(error)"])
            }
            let interval = configuration.interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One round: the month `today` lies in (its opening days so far, its half-year and year).
    /// Empty when another scheduler holds the lock.
    public static func generateCurrent(pool: Pool, today: PostgresDate) async throws -> [ObligationGenerator.Line] {
        try await pool.transaction(settings: ObligationGenerator.settings) { db in
            guard try await db.query("select pg_try_advisory_xact_lock(\(lockKey))").single().decode(0, as: Bool.self) else {
                return []
            }
            return try await ObligationGenerator(db).generate(.month(today.year, today.month), today: today)
        }
    }
}
