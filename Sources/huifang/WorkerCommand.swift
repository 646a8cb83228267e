import ArgumentParser
import Logging
import Server
import ServiceLifecycle
import UnixSignals

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the SLA timer engine and the delivery workers without the HTTP server (any number may run beside servers).")

    @Option(help: "Concurrent worker loops.") var workers = 2
    @Option(help: "Timer stages fired per transaction.") var batchSize = 500
    @OptionGroup var delivery: DeliveryOptions
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        guard workers > 0, batchSize > 0 else { throw CLIError("--workers and --batch-size must be positive") }
        let deliveryWorkers = try delivery.configuration()
        let logger = Logger(label: "huifang.worker")
        try await database.withDatabase(logger: logger) { environment in
            _ = try await environment.migrate(logger: logger)
            let services = try standaloneWorkerServices(
                database: environment.application, configuration: .init(workers: workers, batchSize: batchSize),
                delivery: deliveryWorkers, logger: logger)
            print("SLA timer engine running with \(workers) worker(s), \(delivery.deliveryWorkers) delivery worker(s); Ctrl-C stops it.")
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}
