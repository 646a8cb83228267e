import Foundation
import Postgres

/// Fires due timer stages: claims them with `FOR UPDATE SKIP LOCKED`, and in the same transaction
/// records the `sla_events` row, writes the notifications and advances the timer. A batch either
/// commits whole or not at all, so a worker killed mid-batch loses and duplicates nothing.
public struct SLAEngine: Sendable {
    public let pool: Pool

    public init(pool: Pool) {
        self.pool = pool
    }

    /// The engine's scope: every timer, event and notification (`huifang.scope_system()`).
    public static let settings: [(name: String, value: String)] = [("huifang.system", "on")]

    public struct Fired: Sendable, Equatable {
        public var stages: Int
        public var notifications: Int
        public init(stages: Int, notifications: Int) {
            self.stages = stages
            self.notifications = notifications
        }
    }

    /// Fires up to `limit` due stages (one per timer per call; a timer with several overdue stages is
    /// taken again by the next call).
    public func fireDue(limit: Int) async throws -> Fired {
        try await pool.transaction(settings: Self.settings) { db in
            let row = try await db.query(Self.fireQuery(limit: limit)).single()
            return Fired(stages: try row.decode(0), notifications: try row.decode(1))
        }
    }

    /// The one statement that fires a batch; returns (stages fired, notifications written). The work is
    /// `huifang.fire_due_timers`, the engine's only way to write timers (it needs scope system).
    public static func fireQuery(limit: Int) -> SQL {
        "select fired, notified from huifang.fire_due_timers(\(limit))"
    }

    /// Deletes the past days of the open-clock counts that count no clock any more (the overdue
    /// counts read past days); how many.
    @discardableResult
    public static func purgeEmptyClockDays(pool: Pool) async throws -> Int {
        try await pool.query("select huifang.purge_empty_clock_days()").single().decode(0, as: Int.self)
    }

    /// Folds the open-clock totals the timers' trigger appended into one row per branch and kind,
    /// counted again from the days; how many rows it folded (0 while another server folds).
    @discardableResult
    public static func recountOpenClockTotals(pool: Pool) async throws -> Int {
        try await pool.query("select huifang.recount_open_clock_totals()").single().decode(0, as: Int.self)
    }

    /// When the earliest running timer is due next, or nil when none runs.
    public func nextDue() async throws -> Date? {
        try await pool.transaction(settings: Self.settings, readOnly: true) { db in
            try await db.query("select min(next_fire_at) from huifang.timers where state = 'running'").single().decode(0)
        }
    }
}
