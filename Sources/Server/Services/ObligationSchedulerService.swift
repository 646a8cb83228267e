import Domain
import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Store

/// Keeps the obligations generated: every `interval`, the opening days that are over and not yet
/// drawn (across a month's or a year's end, and after the scheduler was down: it catches up from
/// the last opening day drawn); every `periodicEvery` rounds (the first at start), a new month's
/// core clients, a new half-year or year and late members of them. Each round also opens last
/// month's record uploads and the feedback packages of directives past their date (`RecordDeadlines`). Under a transaction-level advisory lock, so
/// several servers never draw the same window at once. Runs are idempotent; back-fills of earlier
/// periods are `huifang obligations generate --period`.
public struct ObligationSchedulerService: Service {
    public struct Configuration: Sendable {
        /// How often yesterday's opening days are sampled.
        public var interval: Duration
        /// Every this many rounds, the periodic windows (month, half-year, year) are checked too.
        public var periodicEvery: Int
        public init(interval: Duration = .seconds(300), periodicEvery: Int = 12) {
            self.interval = interval
            self.periodicEvery = max(1, periodicEvery)
        }
    }

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
        var round = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            defer { round += 1 }
            do {
                let lines = try await Self.generateCurrent(
                    pool: pool, today: PostgresDate.shanghai(now()), periodic: round % configuration.periodicEvery == 0)
                let tasks = lines.reduce(0) { $0 + $1.tasks }
                if tasks > 0 { logger.info("generated callback tasks", metadata: ["tasks": "\(tasks)"]) }
                let opened = try await RecordDeadlines.open(pool: pool, today: PostgresDate.shanghai(now()))
                if opened.uploadsOpened + opened.feedbackPackagesOpened > 0 {
                    logger.info("opened record deadlines", metadata: [
                        "uploads": "\(opened.uploadsOpened)", "feedbackPackages": "\(opened.feedbackPackagesOpened)",
                    ])
                }
                // Housekeeping that needs a round now and then: Idempotency-Keys older than a day, the
                // past days no open clock counts, the open-clock and problem-state totals folded, and
                // the coming months of the audit trail and the fired stages.
                try await IdempotencyKeys.purgeExpired(pool: pool)
                try await SLAEngine.purgeEmptyClockDays(pool: pool)
                try await SLAEngine.recountOpenClockTotals(pool: pool)
                try await ProblemStore.recountStateTotals(pool: pool)
                try await HistoryArchive.createPartitionsAhead(pool: pool)
            } catch {
                logger.warning("obligation scheduler failed; retrying next round", metadata: ["error": "\(error)"])
            }
            let interval = configuration.interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One round: the opening days over by `today` and not yet drawn (`openingDaysToDraw`) and, when
    /// `periodic`, the month `today` lies in, its half-year and year. Empty when another generator
    /// holds the lock.
    public static func generateCurrent(pool: Pool, today: PostgresDate, periodic: Bool = true) async throws -> [ObligationGenerator.Line] {
        try await pool.transaction(settings: ObligationGenerator.settings) { db in
            guard try await db.query("select pg_try_advisory_xact_lock(\(ObligationGenerator.lockKey))").single().decode(0, as: Bool.self) else {
                return []
            }
            let generator = ObligationGenerator(db)
            return try await generator.generate(
                .month(today.year, today.month), today: today, periodic: periodic,
                openingDaysFrom: try await generator.openingDaysToDraw(today: today))
        }
    }
}
