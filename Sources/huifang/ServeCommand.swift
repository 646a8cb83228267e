import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Postgres
import Server
import ServiceLifecycle
import UnixSignals
import Store

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the HTTP API (migrating first unless --no-migrate).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Flag(inversion: .prefixedNo, help: "Apply pending migrations before serving.") var migrate = true
    @Option(help: "SLA timer workers to run in the server, with the obligation scheduler (0: neither; then run `huifang worker`).")
    var timerWorkers = 2
    @Option(help: "Seconds a request's statement may run (statement_timeout; 0: no limit).")
    var statementTimeout: Double = 5
    @Option(help: "Seconds a request's statement may wait for a lock (lock_timeout; 0: no limit).")
    var lockTimeout: Double = 2
    @Option(help: "Seconds a request's transaction may sit idle before the server ends it (0: no limit).")
    var idleInTransactionTimeout: Double = 10
    @OptionGroup var delivery: DeliveryOptions
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = Logger(label: "huifang")
        let deliveryWorkers = try delivery.configuration()
        try await database.withDatabase(logger: logger) { environment in
            try await serve(
                environment, host: host, port: port, migrate: migrate, poolSize: database.poolSize, timerWorkers: timerWorkers,
                deliveryWorkers: deliveryWorkers,
                timeouts: SessionTimeouts(
                    statement: .seconds(statementTimeout), lock: .seconds(lockTimeout),
                    idleInTransaction: .seconds(idleInTransactionTimeout)),
                logger: logger)
        }
    }
}

/// Migrates (optionally) and runs the application until SIGINT/SIGTERM.
func serve(
    _ environment: DatabaseEnvironment, host: String, port: Int, migrate: Bool, poolSize: Int, timerWorkers: Int = 2,
    deliveryWorkers: DeliveryWorkerService.Configuration?, timeouts: SessionTimeouts = .api, logger: Logger, banner: String? = nil
) async throws {
    let migrations: [Migration]
    if migrate {
        migrations = try await environment.migrate(logger: logger).all
    } else {
        migrations = try Migration.load(from: try MigrationsDirectory.locate())
    }
    var configuration = AppConfiguration(
        host: host, port: port, database: environment.application, poolSize: poolSize, migrations: migrations)
    configuration.definitions = try Definition.load(fromMigrations: try MigrationsDirectory.locate())
    configuration.logLevel = logger.logLevel
    let environmentVariables = ProcessInfo.processInfo.environment
    configuration.trustForwardedFor = environmentVariables["HUIFANG_TRUST_FORWARDED_FOR"] == "1"
    if let bytes = environmentVariables["HUIFANG_MAX_BODY_BYTES"].flatMap({ Int($0) }), bytes > 0 {
        configuration.maxBodyBytes = bytes
    }
    configuration.requestTimeouts = timeouts
    if timerWorkers > 0 {
        configuration.timerWorkers = .init(workers: timerWorkers)
        configuration.obligationScheduler = .init()
    }
    configuration.deliveryWorkers = deliveryWorkers
    if let read = DatabaseRoles.readConnection(environment: environmentVariables) {
        var replica = ReadReplicaConfiguration(database: read, poolSize: poolSize)
        if let seconds = environmentVariables["HUIFANG_READ_MAX_LAG_SECONDS"].flatMap({ Double($0) }), seconds >= 0 {
            replica.maxLag = .seconds(seconds)
        }
        configuration.readReplica = replica
    }
    let app = try await buildApplication(configuration)
    let group = ServiceGroup(
        configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).stoppingWithin(.seconds(30)))
    if let banner {
        print(banner)
        fflush(nil)
    }
    try await group.run()
}

extension ServiceGroupConfiguration {
    /// SIGTERM stops accepting and lets in-flight requests and worker batches finish, but not for
    /// ever: past `limit` the rest is cancelled (their statements with it) and the pools close.
    func stoppingWithin(_ limit: Duration) -> ServiceGroupConfiguration {
        var copy = self
        copy.maximumGracefulShutdownDuration = limit
        return copy
    }
}
