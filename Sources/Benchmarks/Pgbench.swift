import Foundation
import Postgres

/// pgbench as the benchmarks run it against the same server: one script, prepared statements, a
/// fixed time; its rate and its average latency.
enum Pgbench {
    struct Result {
        var transactionsPerSecond: Double
        var latencyMilliseconds: Double
    }

    /// `environment`: libpq variables (`ConnectionConfiguration.toolEnvironment`), set for pgbench only;
    /// `variables`: the script's `-D name=value`.
    static func run(
        script: String, conninfo: String, environment: [String] = [], variables: [String: String] = [:], clients: Int,
        threads: Int = 1, seconds: Int
    ) throws -> Result {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("huifang-pgbench-\(getpid()).sql")
        try script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, text) = try ChildProcess.run(
            "/usr/bin/env",
            environment + [
                try EmbeddedCluster.toolPath("pgbench"), "-n", "-M", "prepared", "-c", String(clients), "-j", String(threads),
                "-T", String(seconds), "-f", file.path,
            ] + variables.sorted { $0.key < $1.key }.flatMap { ["-D", "\($0.key)=\($0.value)"] } + [conninfo])
        func figure(after prefix: String) -> Double? {
            text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) })
                .flatMap { Double($0.dropFirst(prefix.count).prefix(while: { $0.isNumber || $0 == "." })) }
        }
        guard status == 0, let tps = figure(after: "tps = "), let latency = figure(after: "latency average = ") else {
            throw BenchmarkError("pgbench failed:\n\(text)")
        }
        return Result(transactionsPerSecond: tps, latencyMilliseconds: latency)
    }
}
