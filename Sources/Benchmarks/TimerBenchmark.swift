import Foundation
import Logging
import Postgres
import Server
import ServiceLifecycle
import Store

/// The SLA engine against the physical floor, in a scratch database of the same server:
/// 1. `pending` running timers of which `due` have a stage due now; the same due rows advanced
///    by one bulk `UPDATE` (no events, no notifications: the floor), then reset;
/// 2. the engine (`workers` loops, `FOR UPDATE SKIP LOCKED` batches writing sla_events and
///    notifications) firing them; the ratio of the two rates;
/// 3. a steady `rate` timers/s coming due for `seconds`, fired by the worker service with its
///    LISTEN/NOTIFY wake-ups: lateness (fired − due) p50 and p99.
public struct TimerBenchmark: Sendable {
    var pending: Int
    var due: Int
    var workers: Int
    var batchSize: Int
    var rate: Int
    var seconds: Int

    static let scratchDatabase = "huifang_bench_timers"

    public init(pending: Int, due: Int, workers: Int, batchSize: Int, rate: Int, seconds: Int) {
        self.pending = pending
        self.due = due
        self.workers = workers
        self.batchSize = batchSize
        self.rate = rate
        self.seconds = seconds
    }

    /// Runs in a scratch database beside the one `owner` and `application` connect to, and prints the figures.
    public func run(owner: ConnectionConfiguration, application: ConnectionConfiguration, logger: Logger) async throws {
        try await withMigratedScratchDatabase(Self.scratchDatabase, owner: owner, application: application, logger: logger) { pool, app in
            try await report(owner: pool, app: app, logger: logger)
        }
    }

    private func report(owner: Pool, app: ConnectionConfiguration, logger: Logger) async throws {
        progress("loading \(pending) running timers, \(due) due now …")
        let loadStart = ContinuousClock.now
        try await load(owner)
        progress("loaded in \(format(ContinuousClock.now - loadStart))")

        let floorStart = ContinuousClock.now
        let advanced = try await owner.withConnection {
            try await $0.execute(
                """
                update huifang.timers set fired_stages = fired_stages || stage_names[1], next_fire_at = stage_at[2]
                where state = 'running' and next_fire_at <= now()
                """)
        }
        let floorRate = Double(advanced) / seconds(ContinuousClock.now - floorStart)
        try await owner.withConnection {
            try await $0.execute(
                "update huifang.timers set fired_stages = '{}', next_fire_at = stage_at[1] where cardinality(fired_stages) > 0")
            try await $0.run(script: "vacuum analyze huifang.timers")
        }

        let engineStart = ContinuousClock.now
        let pool = Pool(configuration: app, size: workers, logger: logger)
        let fired = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    let engine = SLAEngine(pool: pool)
                    var total = 0
                    while true {
                        let fired = try await engine.fireDue(limit: batchSize)
                        total += fired.stages
                        if fired.stages == 0 { return total }
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        let engineRate = Double(fired) / seconds(ContinuousClock.now - engineStart)
        await pool.shutdown()
        guard fired == advanced else { throw BenchmarkError("the engine fired \(fired) stages; the bulk update advanced \(advanced)") }

        progress("steady phase: \(rate) timers/s for \(seconds) s …")
        let lateness = try await steady(owner: owner, app: app, logger: logger)

        print("timers: \(pending) running, \(due) due now, \(workers) workers, batches of \(batchSize)")
        print(String(format: "  bulk UPDATE (floor)          %9.0f timers/s", floorRate))
        print(String(format: "  engine (events+notifications) %8.0f firings/s  (goal ≥ 5000)", engineRate))
        print(String(format: "  ratio to the floor           %9.2f  (goal ≥ 0.30)", engineRate / floorRate))
        print(String(format: "  steady %d/s for %d s: lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms  (goal p99 < 1000 ms); %d of %d fired",
                     rate, seconds, lateness.p50 * 1000, lateness.p99 * 1000, lateness.max * 1000, lateness.fired, rate * seconds))
    }

    /// Timers written directly with their schedule (the schedule trigger is off meanwhile), each
    /// notifying its branch's ops director; `due` of them have their first stage a minute ago.
    private func load(_ owner: Pool) async throws {
        try await owner.transaction { db in
            try await db.execute(
                "insert into huifang.branches (code, name, region) select 'B' || g, '营业部 ' || g, '华北' from generate_series(1, 350) g")
            try await db.run(script: "alter table huifang.timers disable trigger timers_schedule")
            try await db.execute(
                """
                insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify,
                                            due_at, stage_names, stage_at, provisional, next_fire_at)
                select b, 'bench', g, 'bench', now() - interval '1 day', 5, 'Benchmark timer',
                       jsonb_build_array(jsonb_build_object('role', 'ops_director', 'branchId', b)),
                       s + interval '2 days', '{warning_50,warning_75,breached,escalated}',
                       array[s, s + interval '1 day', s + interval '2 days', s + interval '3 days'], false, s
                from generate_series(1, \(pending)) g,
                     lateral (select 1 + g % 350 as b,
                                     case when g <= \(due) then now() - interval '1 minute' else now() + interval '1 day' end as s) x
                """)
            try await db.run(script: "alter table huifang.timers enable trigger timers_schedule")
        }
        try await owner.withConnection { try await $0.run(script: "vacuum analyze") }
    }

    private struct Lateness {
        var p50: Double
        var p99: Double
        var max: Double
        var fired: Int
    }

    /// `rate` timers/s with their first stage 2 s after insertion, fired by the worker service.
    private func steady(owner: Pool, app: ConnectionConfiguration, logger: Logger) async throws -> Lateness {
        try await owner.withConnection { try await $0.run(script: "alter table huifang.timers disable trigger timers_schedule") }
        let services = try standaloneWorkerServices(
            database: app, configuration: .init(workers: workers, batchSize: batchSize), logger: logger)
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let perTick = max(1, rate / 10)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let start = ContinuousClock.now
            for tick in 0..<(seconds * 10) {
                try await Task.sleep(until: start + .milliseconds(100 * tick))
                try await owner.query(
                    """
                    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify,
                                                due_at, stage_names, stage_at, provisional, next_fire_at)
                    select 1 + g % 350, 'steady', \(tick * perTick) + g, 'bench', now(), 5, 'Steady timer', '[]',
                           s + interval '2 days', '{warning_50,warning_75,breached,escalated}',
                           array[s, s + interval '1 day', s + interval '2 days', s + interval '3 days'], false, s
                    from generate_series(1, \(perTick)) g,
                         lateral (select clock_timestamp() + interval '2 seconds' + (g - 1) * interval '100 milliseconds' / \(perTick) as s) x
                    """)
            }
            // Let the last ones come due and fire.
            try await Task.sleep(for: .seconds(4))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await owner.withConnection { try await $0.run(script: "alter table huifang.timers enable trigger timers_schedule") }
        let row = try await owner.query(
            """
            select percentile_cont(0.5) within group (order by extract(epoch from e.fired_at - e.scheduled_at)),
                   percentile_cont(0.99) within group (order by extract(epoch from e.fired_at - e.scheduled_at)),
                   max(extract(epoch from e.fired_at - e.scheduled_at)), count(*)
            from huifang.sla_events e where e.subject_kind = 'steady'
            """
        ).single()
        return Lateness(
            p50: try row.decode(0, as: Double?.self) ?? .nan, p99: try row.decode(1, as: Double?.self) ?? .nan,
            max: try row.decode(2, as: Double?.self) ?? .nan, fired: try row.decode(3))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func format(_ duration: Duration) -> String {
        String(format: "%.1f s", seconds(duration))
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data("  \(line)\n".utf8))
    }
}
