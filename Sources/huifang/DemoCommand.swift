import ArgumentParser
import Foundation
import Logging
import Postgres

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start Huifang with its own PostgreSQL, migrate, and serve the API (Ctrl-C stops both).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = Logger(label: "huifang")
        try await database.withDatabase(logger: logger) { environment in
            let where_ = environment.cluster.map { "embedded PostgreSQL in \($0.dataDirectory.path)" } ?? "DATABASE_URL"
            let base = "http://\(host):\(port)"
            let banner = """

                Huifang is running (\(where_)).
                  health:   \(base)/health
                  metrics:  \(base)/metrics
                  API:      \(base)/openapi.yaml
                Press Ctrl-C to stop.

                """
            try await serve(environment, host: host, port: port, migrate: true, poolSize: database.poolSize, logger: logger, banner: banner)
        }
    }
}
