import Foundation
import Store
import Testing
import TestSupport

@testable import Benchmarks

@Suite struct MonitoringBenchmarkTests {
    /// pgbench runs every monitoring query as `huifang bench monitoring` writes it, as the owner and as
    /// the request role: joined into one line, a `--` comment in the overdue counts had swallowed the
    /// rest of the statement, and the benchmark stopped at its second query.
    @Test func pgbenchRunsEveryMonitoringQueryAsTheBenchmarkWritesIt() async throws {
        try await TestDatabase.with { database in
            for query in MonitoringQueries.all(now: Date(), month: "2026-12", branches: nil, branchId: 1) {
                for configuration in [database.owner, database.application] {
                    let latency = try MonitoringBenchmark.pgbenchLatency(
                        query.sql, configuration, settings: MonitoringQueries.settings, seconds: 1)
                    #expect(latency > 0, "\(query.name)")
                }
            }
        }
    }
}
