import Foundation
import Logging
import Postgres

/// `SELECT $1::int` through the Pool against `pgbench -M prepared` running the same statement with
/// the same number of clients on the same server, in one run. pgbench runs with 1 thread, 2 threads
/// and one thread per client; the ratio is against the fastest of them, the strictest baseline.
public struct RoundtripBenchmark: Sendable {
    var clients: Int
    var seconds: Int

    public init(clients: Int, seconds: Int) {
        self.clients = clients
        self.seconds = seconds
    }

    /// Runs both sides against the server `database` connects to, and prints the figures.
    public func run(database: ConnectionConfiguration, logger: Logger) async throws {
        let pool = Pool(configuration: database, size: clients, logger: logger)
        _ = try await measurePool(pool, duration: .seconds(1))  // warm-up: connect and prepare
        let ours = try await measurePool(pool, duration: .seconds(seconds))
        await pool.shutdown()
        let threadCounts = Array(Set([1, min(2, clients), clients])).sorted()
        var baselines: [(threads: Int, rate: Double)] = []
        for threads in threadCounts {
            baselines.append((threads, try runPgbench(conninfo: database.conninfo, threads: threads)))
        }
        let best = baselines.max { $0.rate < $1.rate }!
        print("roundtrip: SELECT $1::int, \(clients) clients, \(seconds) s each")
        print(String(format: "  huifang Pool                  %10.0f queries/s", ours))
        for baseline in baselines {
            print(String(format: "  pgbench -M prepared -j %-2d     %10.0f queries/s  (ratio %.2f)", baseline.threads, baseline.rate, ours / baseline.rate))
        }
        print(String(format: "  ratio to the fastest pgbench  %10.2f  (goal ≥ 0.80)", ours / best.rate))
    }

    private func measurePool(_ pool: Pool, duration: Duration) async throws -> Double {
        let deadline = ContinuousClock.now + duration
        let started = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for client in 0..<clients {
                // Clients run on the pool's threads, as pgbench's clients run on its own.
                group.addTask(executorPreference: pool.executor) {
                    var count = 0
                    var value = client
                    while ContinuousClock.now < deadline {
                        value = (value &* 1_103_515_245 &+ 12345) & 0xFFFFF
                        let row = try await pool.query("SELECT \(value)::int").single()
                        guard try row.decode(0, as: Int.self) == value else { throw BenchmarkError("wrong answer") }
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - started
        return Double(total) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    private func runPgbench(conninfo: String, threads: Int) throws -> Double {
        try Pgbench.run(
            script: "\\set x random(0, 1048575)\nSELECT :x::int;\n", conninfo: conninfo, clients: clients, threads: threads,
            seconds: seconds
        ).transactionsPerSecond
    }
}
