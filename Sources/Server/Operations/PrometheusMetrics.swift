import Metrics
import Postgres
import Prometheus
import Store

/// The process-wide Prometheus registry. swift-metrics can be bootstrapped once per process, so every
/// application built in this process (tests build many) shares it.
final class PrometheusMetrics: Sendable {
    static let shared = PrometheusMetrics()

    let registry: PrometheusCollectorRegistry

    private init() {
        registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The exposition text, with the pools' gauges and the outstanding deliveries read at scrape time.
    func render(pool: Pool, authPool: Pool, deliveries: (pending: Int, dead: Int)?, replica: ReadReplica?) -> String {
        if let deliveries {
            let help = "Deliveries to notification channels by state: pending (being tried) and dead (retries gave up)."
            gauge("deliveries", state: "pending", help: help).set(Int64(deliveries.pending))
            gauge("deliveries", state: "dead", help: help).set(Int64(deliveries.dead))
        }
        let statistics = pool.statistics
        gauge("db_pool_connections", state: "in_use", help: "Database connections of the request pool, by state.")
            .set(Int64(statistics.inUse))
        gauge("db_pool_connections", state: "idle", help: "Database connections of the request pool, by state.")
            .set(Int64(statistics.idle))
        gauge("db_pool_waiting", help: "Requests waiting for a database connection.").set(Int64(statistics.waiting))
        gauge("db_pool_size", help: "Largest number of connections the pool opens.").set(Int64(statistics.size))
        gauge("db_round_trips", help: "Exchanges with the database that waited for its answer (a pipeline once), both pools, since start.")
            .set(Int64(statistics.roundTrips + authPool.statistics.roundTrips))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self) + (replica.map(Self.replicaLines) ?? "")
    }

    /// The read replica's figures, written here rather than through the process-wide registry: they
    /// belong to this application's replica (tests run several applications in one process).
    private static func replicaLines(_ replica: ReadReplica) -> String {
        let served = replica.served
        return """
            # HELP huifang_read_replica_lag_seconds Replication lag of the read replica as last measured; -1 when unreachable or not a standby.
            # TYPE huifang_read_replica_lag_seconds gauge
            huifang_read_replica_lag_seconds \(replica.lagSeconds ?? -1)
            # HELP huifang_read_replica_usable 1 while reports try the replica, 0 while they go to the primary without trying it.
            # TYPE huifang_read_replica_usable gauge
            huifang_read_replica_usable \(replica.isUsable ? 1 : 0)
            # HELP huifang_read_replica_reads_total Reads meant for the replica since start, by where they ran.
            # TYPE huifang_read_replica_reads_total counter
            huifang_read_replica_reads_total{served_by="replica"} \(served.replica)
            huifang_read_replica_reads_total{served_by="primary"} \(served.primary)

            """
    }

    private func gauge(_ name: String, state: String? = nil, help: String) -> Prometheus.Gauge {
        let descriptor = MetricNameDescriptor(namespace: "huifang", metricName: name, unitName: "", helpText: help)
        return registry.makeGauge(descriptor: descriptor, labels: state.map { [("state", $0)] } ?? [])
    }
}
