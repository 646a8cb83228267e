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

    /// The one statement that fires a batch; returns (stages fired, notifications written).
    public static func fireQuery(limit: Int) -> SQL {
        """
                with due as (
                    select branch_id, id from huifang.timers
                    where state = 'running' and next_fire_at <= now()
                    order by next_fire_at
                    limit \(limit)
                    for update skip locked
                ), advanced as (
                    update huifang.timers t set
                        fired_stages = t.fired_stages || t.stage_names[cardinality(t.fired_stages) + 1],
                        next_fire_at = t.stage_at[cardinality(t.fired_stages) + 2],
                        state = case when cardinality(t.fired_stages) + 1 < cardinality(t.stage_names) then 'running' else 'done' end
                    from due
                    where t.branch_id = due.branch_id and t.id = due.id
                    returning t.branch_id, t.id, t.subject_kind, t.subject_id, t.clock, t.title, t.notify, t.escalate_to,
                              t.fired_stages[cardinality(t.fired_stages)] as stage,
                              t.stage_at[cardinality(t.fired_stages)] as scheduled_at
                ), events as (
                    insert into huifang.sla_events (branch_id, timer_id, stage, scheduled_at, subject_kind, subject_id, clock)
                    select branch_id, id, stage, scheduled_at, subject_kind, subject_id, clock from advanced
                    on conflict (branch_id, timer_id, stage) do nothing
                    returning branch_id, timer_id, stage
                ), sent as (
                    insert into huifang.notifications (
                        branch_id, recipient_role, recipient_branch_id, recipient_department_id, kind, title,
                        timer_id, stage, subject_kind, subject_id, scheduled_at)
                    select a.branch_id, r->>'role', (r->>'branchId')::int, (r->>'departmentId')::int, 'sla',
                           a.title || ': ' || a.stage, a.id, a.stage, a.subject_kind, a.subject_id, a.scheduled_at
                    from events e
                    join advanced a on a.branch_id = e.branch_id and a.id = e.timer_id and a.stage = e.stage
                    cross join lateral jsonb_array_elements(
                        case when a.stage = 'escalated' then a.notify || a.escalate_to else a.notify end) r
                    -- A recipient naming no branch or department (an HQ department this organization lacks)
                    -- is skipped: one bad address must not stop every clock behind it.
                    where ((r->>'branchId') is null) <> ((r->>'departmentId') is null)
                    returning 1
                )
                select (select count(*) from events), (select count(*) from sent)
        """
    }

    /// When the earliest running timer is due next, or nil when none runs.
    public func nextDue() async throws -> Date? {
        try await pool.transaction(settings: Self.settings, readOnly: true) { db in
            try await db.query("select min(next_fire_at) from huifang.timers where state = 'running'").single().decode(0)
        }
    }
}
