import DemoData
import Domain
import Foundation
import Logging
import Postgres
import Store

/// A brokerage's failover, measured: a private primary with the default demo and a hot standby
/// (`pg_basebackup -R`), synchronous or not; a `huifang serve` child whose `DATABASE_URL` names both
/// (`target_session_attrs=read-write`) and whose `HUIFANG_READ_DATABASE_URL` names the standby.
/// Writers raise problems with Idempotency-Keys while an HQ reader reads monitoring (on the replica)
/// and the standby's replay lag is sampled on the primary (`pg_stat_replication.replay_lag`); then
/// the primary is stopped (`pg_ctl stop -m immediate`) and the standby promoted, and the writers go on.
/// Prints the replica's lag and the monitoring latency under the burst, the failover time (primary
/// stopped → first acknowledged write on the new primary) and the acknowledged writes missing there.
public struct FailoverBenchmark: Sendable {
    var writers: Int
    var seconds: Int
    var synchronous: Bool
    var demo: DemoData

    public init(writers: Int, seconds: Int, synchronous: Bool, branches: Int = 20, clients: Int = 20_000) {
        self.writers = writers
        self.seconds = seconds
        self.synchronous = synchronous
        self.demo = DemoData(branches: branches, clients: clients)
    }

    /// Runs it and prints the figures; false when an acknowledged write is missing.
    public func run(logger: Logger) async throws -> Bool {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("huifang-failover-\(getpid())")
        let primary = try EmbeddedCluster(
            dataDirectory: directory.appendingPathComponent("primary"),
            settings: ["max_connections": "200", "wal_level": "replica", "synchronous_commit": "on"], logger: logger)
        try primary.start()
        var standby: EmbeddedCluster?
        defer {
            try? standby?.stop(mode: "immediate")
            try? primary.stop(mode: "immediate")
            try? FileManager.default.removeItem(at: directory)
        }
        print("preparing a private primary with a demo of \(demo.branches) branches and \(demo.clients) clients and a \(synchronous ? "synchronous" : "asynchronous") standby …")
        fflush(nil)
        let database = OutageCluster.database
        try await ThrowawayDemo.createDatabase(database, on: primary, demo: demo, full: true, logger: logger)
        let replica = try primary.makeStandby(
            dataDirectory: directory.appendingPathComponent("standby"), settings: ["hot_standby_feedback": "on", "max_connections": "200"])
        standby = replica
        try replica.start()
        if synchronous {
            // Only now: with no standby to confirm them, the demo's commits would have waited for ever.
            try await Pool.withPool(primary.configuration(), logger: logger) { pool in
                try await pool.withConnection { connection in
                    // Two statements: ALTER SYSTEM refuses to run in the implicit transaction of several.
                    try await connection.run(script: "alter system set synchronous_standby_names = '*'")
                    try await connection.run(script: "select pg_reload_conf()")
                }
            }
        }
        let writer = try await OutageCluster(cluster: primary, logger: logger).writer()
        let reader = try await Self.hqReader(primary.configuration(database: database), logger: logger)

        let hosts = [primary.socketDirectory, replica.socketDirectory]
            .map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }.joined(separator: ",")
        let both = "postgresql://\(EmbeddedCluster.superuser)@/\(database)?host=\(hosts)&port=\(primary.port),\(replica.port)&target_session_attrs=read-write"
        let port = try freeLocalPort()
        let server = try ServerChild(
            port: port, databaseURL: both, poolSize: 8, log: directory.appendingPathComponent("serve.log"), arguments: ["--timer-workers", "0"],
            environment: ["HUIFANG_READ_DATABASE_URL": replica.url(database: database)])
        let client = BenchHTTPClient(port: port, connections: writers * 2 + 2)
        defer { client.invalidate() }
        do {
            try await server.waitUntilListening(client)
            let writerToken = try await signIn(client, employeeNo: writer.employeeNo, password: DemoData.password)
            let readerToken = try await signIn(client, employeeNo: reader, password: DemoData.password)
            let ledger = OutageLedger()
            print("writing with \(writers) clients, reading monitoring as \(reader), for \(seconds) s; then failover …")
            fflush(nil)
            let writing = Task {
                await withTaskGroup(of: Void.self) { group in
                    for number in 1...writers {
                        group.addTask {
                            await OutageWriter(
                                number: number, client: client, token: writerToken, clientIds: writer.clientIds, ledger: ledger,
                                timeout: .seconds(10)
                            ).run()
                        }
                    }
                }
            }
            let burst = ContinuousClock.now + .seconds(seconds)
            async let lags = Self.sampleReplayLag(primary.configuration(database: database), until: burst, logger: logger)
            async let reads = Self.readMonitoring(client, token: readerToken, until: burst)
            let (lagSamples, readTimes) = try await (lags, reads)
            let served = await Self.replicaReads(client)

            ledger.phase = "failover"
            let stopped = ContinuousClock.now
            try primary.stop(mode: "immediate")
            try replica.promote()
            let promoted = ContinuousClock.now
            let before = ledger.snapshot.acknowledged.count
            while ledger.snapshot.acknowledged.count < before + writers * 10, ContinuousClock.now < promoted + .seconds(60) {
                try await Task.sleep(for: .milliseconds(50))
            }
            ledger.stop()
            await writing.value
            await server.stop()

            let seen = ledger.snapshot
            let firstAfter = seen.entries.filter { $0.phase == "failover" && $0.answer.succeeded }.map(\.answer.ended).min()
            let counts = try await OutageCluster(cluster: replica, logger: logger).markerCounts()
            let lost = (seen.acknowledged + seen.saidCommitted).filter { counts[$0] == nil }
            let duplicated = counts.values.filter { $0 > 1 }.count
            print(
                FailoverReport(
                    synchronous: synchronous, writers: writers, lagSamples: lagSamples, readTimes: readTimes, served: served,
                    acknowledged: seen.acknowledged.count, lost: lost.count, duplicated: duplicated,
                    promotion: promoted - stopped, firstWriteAfter: firstAfter.map { $0 - stopped },
                    failures: seen.entries.filter { $0.phase == "failover" && !$0.answer.succeeded }.count
                ).text)
            return lost.isEmpty && duplicated == 0 && firstAfter != nil
        } catch {
            await server.stop()
            throw error
        }
    }

    /// A Brokerage Ops Center reader of the demo (reads monitoring for every branch).
    static func hqReader(_ owner: ConnectionConfiguration, logger: Logger) async throws -> String {
        try await Pool.withPool(owner, logger: logger) { pool in
            try await pool.query(
                """
                select s.employee_no from huifang.role_grants g join huifang.staff s on s.id = g.staff_id and s.status = 'active'
                join huifang.staff_credentials c on c.staff_id = s.id
                where g.revoked_at is null and g.role = \(Role.brokerageOpsCenter.rawValue) order by s.id limit 1
                """
            ).single().decode(0)
        }
    }

    /// `replay_lag` of the standby as the primary sees it, every 100 ms, in seconds (0 when caught up).
    static func sampleReplayLag(_ owner: ConnectionConfiguration, until end: ContinuousClock.Instant, logger: Logger) async throws -> [Double] {
        try await Pool.withPool(owner, size: 1, logger: logger) { pool in
            var samples: [Double] = []
            while ContinuousClock.now < end {
                let lag = try await pool.query(
                    "select coalesce(extract(epoch from max(replay_lag))::float8, 0) from pg_stat_replication"
                ).single().decode(0, as: Double.self)
                samples.append(lag)
                try await Task.sleep(for: .milliseconds(100))
            }
            return samples
        }
    }

    /// GET /monitoring/overdue and /monitoring/at-risk one after another until `end`; each one's time.
    static func readMonitoring(_ client: BenchHTTPClient, token: String, until end: ContinuousClock.Instant) async throws -> [Duration] {
        var times: [Duration] = []
        var path = 0
        while ContinuousClock.now < end {
            let answer = await client.send("GET", ["/monitoring/overdue", "/monitoring/at-risk"][path % 2], token: token, timeout: .seconds(30))
            guard answer.succeeded else { throw BenchmarkError("monitoring read failed: \(answer.status.map(String.init) ?? answer.failure ?? "?")") }
            times.append(answer.elapsed)
            path += 1
        }
        return times
    }

    /// The server's own count of reads served by the replica and by the primary.
    static func replicaReads(_ client: BenchHTTPClient) async -> (replica: Int, primary: Int) {
        let text = String(decoding: await client.send("GET", "/metrics", timeout: .seconds(10)).body, as: UTF8.self)
        func value(_ servedBy: String) -> Int {
            text.split(separator: "\n").first { $0.hasPrefix("huifang_read_replica_reads_total{served_by=\"\(servedBy)\"}") }
                .flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
        }
        return (value("replica"), value("primary"))
    }
}

/// The figures of `huifang bench failover`.
struct FailoverReport {
    var synchronous: Bool
    var writers: Int
    var lagSamples: [Double]
    var readTimes: [Duration]
    var served: (replica: Int, primary: Int)
    var acknowledged: Int
    var lost: Int
    var duplicated: Int
    var promotion: Duration
    var firstWriteAfter: Duration?
    var failures: Int

    var text: String {
        let lags = lagSamples.sorted()
        let reads = readTimes.sorted()
        func percentile<T>(_ values: [T], _ p: Double) -> T? {
            values.isEmpty ? nil : values[min(values.count - 1, Int((Double(values.count) * p).rounded(.up)) - 1)]
        }
        func ms(_ duration: Duration?) -> String {
            guard let duration else { return "—" }
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            return String(format: "%.1f ms", seconds * 1000)
        }
        func lagText(_ value: Double?) -> String { value.map { String(format: "%.1f ms", $0 * 1000) } ?? "—" }
        return """

            replication: \(synchronous ? "synchronous (synchronous_standby_names = '*', synchronous_commit = on)" : "asynchronous")
            replica replay lag under \(writers) writers (pg_stat_replication.replay_lag, \(lags.count) samples): \
            p50 \(lagText(percentile(lags, 0.5))), p95 \(lagText(percentile(lags, 0.95))), max \(lagText(lags.last))
            monitoring on the replica under the burst (\(reads.count) reads, /monitoring/overdue and /at-risk): \
            p50 \(ms(percentile(reads, 0.5))), p95 \(ms(percentile(reads, 0.95))); served by the replica \(served.replica), \
            by the primary \(served.primary)
            failover: pg_ctl promote took \(ms(promotion)); first acknowledged write \(ms(firstWriteAfter)) after the primary stopped; \
            \(failures) answers meanwhile were 503/500/none (repeated with their key)
            writes acknowledged \(acknowledged), missing on the new primary \(lost), duplicated \(duplicated)

            """
    }
}
