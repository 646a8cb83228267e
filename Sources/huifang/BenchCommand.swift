import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print ratios against a baseline measured in the same run.",
        subcommands: [
            RoundtripBenchmark.self, TimerBenchmark.self, ImportBenchmark.self, MonitoringBenchmark.self, FaultBenchmark.self,
            OutageBenchmark.self,
        ]
    )
}
