import Delivery
import Foundation
import Logging
import Postgres
import Server
import ServiceLifecycle
import Store

/// The delivery workers against a local webhook receiver (`WebhookSink`), in a scratch database:
/// 1. `backlog` breach notifications already in the outbox, delivered by `workers` loops: notifications/s;
/// 2. `rate` timers/s coming due for `seconds`, fired by the timer workers and delivered by the
///    delivery workers as in `huifang worker`: latency from the stage's due time and from its firing
///    to the receiver getting the call, p50 and p99.
public struct DeliveryBenchmark: Sendable {
    var backlog: Int
    var workers: Int
    var batchSize: Int
    var rate: Int
    var seconds: Int

    static let scratchDatabase = "huifang_bench_delivery"

    public init(backlog: Int, workers: Int, batchSize: Int, rate: Int, seconds: Int) {
        self.backlog = backlog
        self.workers = workers
        self.batchSize = batchSize
        self.rate = rate
        self.seconds = seconds
    }

    public func run(owner: ConnectionConfiguration, application: ConnectionConfiguration, logger: Logger) async throws {
        try await withMigratedScratchDatabase(Self.scratchDatabase, owner: owner, application: application, logger: logger) { pool, app in
            let sink = try await WebhookSink.start()
            defer { Task { await sink.stop() } }
            try await setUp(pool, sink: sink)
            let throughput = try await backlogPhase(pool, app: app, sink: sink, logger: logger)
            let latency = try await steadyPhase(pool, app: app, sink: sink, logger: logger)
            print("delivery: \(workers) worker loop(s), batches of \(batchSize), to a webhook receiver on 127.0.0.1")
            print(String(format: "  backlog of %d breaches         %8.0f notifications/s", backlog, throughput))
            print(String(format: "  steady %d timers/s for %d s: due → webhook p50 %.0f ms, p99 %.0f ms; fired → webhook p50 %.0f ms, p99 %.0f ms; %d of %d delivered",
                         rate, seconds, latency.dueP50 * 1000, latency.dueP99 * 1000, latency.firedP50 * 1000, latency.firedP99 * 1000,
                         latency.delivered, rate * seconds))
        }
    }

    private func setUp(_ owner: Pool, sink: WebhookSink) async throws {
        try await owner.transaction { db in
            try await db.execute("insert into huifang.branches (code, name, region) values ('B1', '营业部 1', '华北')")
            try await db.execute(
                "insert into huifang.delivery_allowed_hosts (host, allow_http, allow_private, reason) values ('127.0.0.1', true, true, 'benchmark')")
            try await db.execute(
                """
                insert into huifang.delivery_channels (branch_id, role, kind, name, url, secret, notification_kinds)
                select id, 'ops_director', 'webhook', 'bench', \(sink.url), \(WebhookSignature.newSecret()), '{warning,breach,escalation}'
                from huifang.branches
                """)
        }
    }

    /// What `huifang worker` runs: timer workers (idle in the rate phase) and the delivery workers.
    private func services(_ app: ConnectionConfiguration, logger: Logger) throws -> [any Service] {
        var engine = DeliveryEngine.Configuration()
        engine.batchSize = batchSize
        let delivery = DeliveryWorkerService.Configuration(workers: workers, engine: engine)
        return try standaloneWorkerServices(database: app, configuration: .init(workers: 2), delivery: delivery, logger: logger)
    }

    private func backlogPhase(_ owner: Pool, app: ConnectionConfiguration, sink: WebhookSink, logger: Logger) async throws -> Double {
        progress("writing \(backlog) breach notifications …")
        _ = try await owner.query(
            """
            insert into huifang.notifications (branch_id, recipient_role, recipient_branch_id, kind, title, stage, subject_kind, subject_id, scheduled_at)
            select b.id, 'ops_director', b.id, 'sla', 'Benchmark', 'breached', 'bench', g, now()
            from huifang.branches b, generate_series(1, \(backlog)) g
            """)
        let group = ServiceGroup(configuration: .init(services: try services(app, logger: logger), logger: logger))
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            _ = try await sink.waitForRequests(backlog, timeout: .seconds(600))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        return Double(backlog) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    private struct Latency {
        var dueP50: Double, dueP99: Double, firedP50: Double, firedP99: Double
        var delivered: Int
    }

    private func steadyPhase(_ owner: Pool, app: ConnectionConfiguration, sink: WebhookSink, logger: Logger) async throws -> Latency {
        progress("steady phase: \(rate) timers/s for \(seconds) s …")
        let before = sink.received.count
        let group = ServiceGroup(configuration: .init(services: try services(app, logger: logger), logger: logger))
        let perTick = max(1, rate / 10)
        try await owner.withConnection { try await $0.run(script: "alter table huifang.timers disable trigger timers_schedule") }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let start = ContinuousClock.now
            for tick in 0..<(seconds * 10) {
                try await Task.sleep(until: start + .milliseconds(100 * tick))
                // One stage each (a breach), 2 s after insertion, for branch 1's ops director.
                _ = try await owner.query(
                    """
                    insert into huifang.timers (branch_id, subject_kind, subject_id, clock, started_at, workdays, title, notify,
                                                due_at, stage_names, stage_at, provisional, next_fire_at)
                    select 1, 'steady', \(tick * perTick) + g, 'bench', now(), 5, 'Steady timer',
                           '[{"role": "ops_director", "branchId": 1}]', s, '{breached}', array[s], false, s
                    from generate_series(1, \(perTick)) g,
                         lateral (select clock_timestamp() + interval '2 seconds' + (g - 1) * interval '100 milliseconds' / \(perTick) as s) x
                    """)
            }
            _ = try await sink.waitForRequests(before + seconds * 10 * perTick, timeout: .seconds(60))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await owner.withConnection { try await $0.run(script: "alter table huifang.timers enable trigger timers_schedule") }
        // The receiver's clock is this machine's, as is the database's.
        let calls = sink.received.dropFirst(before).compactMap { request -> (Int64, Date)? in
            request.header(OutboundRequest.idempotencyHeader).flatMap(Int64.init).map { ($0, request.receivedAt) }
        }
        let row = try await owner.withConnection { db in
            try await db.execute("create temporary table received (delivery bigint, at timestamptz)")
            for chunk in stride(from: 0, to: calls.count, by: 1000) {
                let slice = calls[chunk..<min(chunk + 1000, calls.count)]
                try await db.execute(
                    "insert into received select d, to_timestamp(t) from unnest(\(slice.map(\.0))::bigint[], \(slice.map { String($0.1.timeIntervalSince1970) })::float8[]) u(d, t)")
            }
            return try await db.query(
                """
                with l as (
                    select extract(epoch from r.at - n.scheduled_at) as due, extract(epoch from r.at - e.fired_at) as fired
                    from received r
                    join huifang.deliveries d on d.id = r.delivery
                    join huifang.notifications n on n.branch_id = d.notification_branch_id and n.id = d.notification_id
                    join huifang.sla_events e on e.branch_id = n.branch_id and e.timer_id = n.timer_id and e.stage = n.stage
                    where n.subject_kind = 'steady'
                )
                select percentile_cont(0.5) within group (order by due), percentile_cont(0.99) within group (order by due),
                       percentile_cont(0.5) within group (order by fired), percentile_cont(0.99) within group (order by fired), count(*)::int
                from l
                """
            ).single()
        }
        return Latency(
            dueP50: try row.decode(0, as: Double?.self) ?? .nan, dueP99: try row.decode(1, as: Double?.self) ?? .nan,
            firedP50: try row.decode(2, as: Double?.self) ?? .nan, firedP99: try row.decode(3, as: Double?.self) ?? .nan,
            delivered: try row.decode(4))
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data("  \(line)\n".utf8))
    }
}
