import ArgumentParser
import Benchmarks
import Domain
import Foundation
import Logging
import Postgres

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print ratios against a baseline measured in the same run.",
        subcommands: [Roundtrip.self, Timers.self, Delivery.self, Import.self, Monitoring.self, Faults.self, Outage.self, Failover.self, API.self, Lists.self]
    )

    /// The benchmarks' own logger: only what goes wrong, so their figures stay readable.
    static func logger(_ label: String = "huifang.bench", level: Logger.Level = .warning) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

extension BenchCommand {
    struct Roundtrip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "roundtrip", abstract: "Query round trips through the Pool versus pgbench -M prepared.")

        @Option(help: "Concurrent clients (pool connections and pgbench clients).") var clients = 4
        @Option(help: "Seconds each side runs.") var seconds = 10
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard clients > 0, seconds > 0 else {
                throw ValidationError("--clients and --seconds must be positive")
            }
        }

        func run() async throws {
            let logger = BenchCommand.logger()
            let benchmark = RoundtripBenchmark(clients: clients, seconds: seconds)
            try await database.withDatabase(logger: logger) { try await benchmark.run(database: $0.owner, logger: logger) }
        }
    }

    struct Timers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "timers", abstract: "Timer firing rate versus a bulk UPDATE, then lateness under a steady load.")

        @Option(help: "Running timers in the table.") var pending = 1_000_000
        @Option(help: "Of those, timers with a stage due now.") var due = 100_000
        @Option(help: "Worker loops.") var workers = 2
        @Option(help: "Stages fired per transaction.") var batchSize = 500
        @Option(help: "Steady phase: timers coming due per second.") var rate = 500
        @Option(help: "Steady phase: seconds.") var seconds = 60
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard pending > 0, due > 0, due <= pending, workers > 0, batchSize > 0, rate > 0, seconds > 0 else {
                throw ValidationError("counts must be positive and --due at most --pending")
            }
        }

        func run() async throws {
            let logger = BenchCommand.logger()
            let benchmark = TimerBenchmark(
                pending: pending, due: due, workers: workers, batchSize: batchSize, rate: rate, seconds: seconds)
            try await database.withDatabase(logger: logger) {
                try await benchmark.run(owner: $0.owner, application: $0.application, logger: logger)
            }
        }
    }

    struct Delivery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delivery",
            abstract: "Delivery rate to a local webhook receiver, then latency from a timer coming due (and firing) to the webhook call.")

        @Option(help: "Breach notifications waiting in the outbox for the rate phase.") var backlog = 10_000
        @Option(help: "Delivery worker loops.") var workers = 2
        @Option(help: "Deliveries claimed per batch.") var batchSize = 50
        @Option(help: "Steady phase: timers coming due per second.") var rate = 100
        @Option(help: "Steady phase: seconds.") var seconds = 30
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard backlog > 0, workers > 0, batchSize > 0, rate > 0, seconds > 0 else { throw ValidationError("counts must be positive") }
        }

        func run() async throws {
            let logger = BenchCommand.logger()
            let benchmark = DeliveryBenchmark(backlog: backlog, workers: workers, batchSize: batchSize, rate: rate, seconds: seconds)
            try await database.withDatabase(logger: logger) {
                try await benchmark.run(owner: $0.owner, application: $0.application, logger: logger)
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import", abstract: "Client import rate versus psql \\copy of the same file into a bare table.")

        @Option(help: "Client rows in the generated file.") var rows = 1_000_000
        @Option(help: "Branches the clients are spread over.") var branches = 350
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard rows > 0, branches > 0 else { throw ValidationError("--rows and --branches must be positive") }
        }

        func run() async throws {
            let logger = BenchCommand.logger()
            let benchmark = ImportBenchmark(rows: rows, branches: branches)
            try await benchmark.withFiles { files in
                try await database.withDatabase(logger: logger) {
                    try await benchmark.run(files, owner: $0.owner, application: $0.application, logger: logger)
                }
            }
        }
    }

    struct Monitoring: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "monitoring",
            abstract: "Monitoring queries: p50/p95 as HQ and as a branch, and the cost of row-level security.")

        @Option(help: "Timed runs of each query in each role (after one warm-up).") var runs = 30
        @Option(help: "The branch whose ops director is the branch reader (its code; default the first branch).") var branch: String?
        @Option(help: "The month the compliance queries read, YYYY-MM (default the current one in Shanghai).") var month: String?
        @Option(help: "Seconds of each of pgbench's three rounds per branch query and role, for the RLS ratio.") var ratioSeconds = 1
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard runs > 0, ratioSeconds > 0 else { throw ValidationError("--runs and --ratio-seconds must be positive") }
            if let month { try MonitoringCommand.checkMonth(month) }
        }

        func run() async throws {
            let logger = BenchCommand.logger()
            let benchmark = MonitoringBenchmark(runs: runs, branch: branch, month: month, ratioSeconds: ratioSeconds)
            try await database.withDatabase(logger: logger) { environment in
                try await environment.requireCurrentSchema(logger: logger)
                try await benchmark.run(owner: environment.owner, application: environment.application, logger: logger)
            }
        }
    }

    struct Faults: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "faults",
            abstract: "Stage timeouts, cancellation, killed backends, a lost COMMIT, a restart and overload on a private PostgreSQL.")

        /// Exits 1 when the pool did not do what it must.
        func run() async throws {
            guard try await FaultBenchmark().run(logger: BenchCommand.logger("huifang.faults", level: .error)) else { throw ExitCode(1) }
        }
    }

    struct Outage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "outage",
            abstract: "Write through a killed, restarted and locked private PostgreSQL and a SIGTERM, then flood a pool of 8; check every goal.",
            discussion: """
                Starts its own throwaway PostgreSQL and `huifang serve` children on free ports; nothing configured is touched. \
                Goals: no acknowledged write lost, none duplicated, every request answered within its deadline \
                (the 5 s statement timeout) + 1 s, the first success ≤ 2 s after PostgreSQL accepts connections again, \
                no 5xx but 503 and outcome-unknown.
                """)

        @Option(help: "Concurrent writers.") var writers = 8
        @Option(help: "Seconds the ACCESS EXCLUSIVE lock on the problems is held.") var lockSeconds = 30
        @Option(help: "Seconds of steady writing between faults.") var steadySeconds = 5
        @Option(help: "Concurrent requests of the overload phase.") var overloadRequests = 10_000
        @Option(help: "Connections in the request pool of the overload phase.") var overloadPoolSize = 8

        func validate() throws {
            guard writers > 0, lockSeconds > 0, steadySeconds > 0, overloadRequests > 0, overloadPoolSize > 0 else {
                throw ValidationError("every count and duration must be positive")
            }
        }

        /// Exits 1 when a goal is missed.
        func run() async throws {
            let benchmark = OutageBenchmark(
                writers: writers, lockSeconds: lockSeconds, steadySeconds: steadySeconds, overloadRequests: overloadRequests,
                overloadPoolSize: overloadPoolSize)
            guard try await benchmark.run(logger: BenchCommand.logger("huifang.outage", level: .error)) else { throw ExitCode(1) }
        }
    }

    struct Failover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "failover",
            abstract: "Write and read monitoring against a primary and its hot standby, stop the primary, promote the standby; count.",
            discussion: """
                Starts its own throwaway primary (default demo) and standby (pg_basebackup -R) and a `huifang serve` child whose \
                DATABASE_URL names both hosts and HUIFANG_READ_DATABASE_URL the standby; nothing configured is touched. Prints the \
                replica's replay lag and monitoring p50/p95 under the write burst, the failover time and the acknowledged writes \
                missing on the promoted standby; exit 1 when one is missing or duplicated.
                """)

        @Option(help: "Concurrent writers.") var writers = 8
        @Option(help: "Seconds of writing (and reading monitoring) before the primary is stopped.") var seconds = 10
        @Flag(inversion: .prefixedNo, help: "A synchronous standby (synchronous_standby_names = '*'); --no-synchronous: asynchronous.")
        var synchronous = true
        @Option(help: "Branches of the demo on the primary.") var branches = 20
        @Option(help: "Clients of the demo on the primary.") var clients = 20_000

        func validate() throws {
            guard writers > 0, seconds > 0, branches > 0, clients > 0 else {
                throw ValidationError("--writers, --seconds, --branches and --clients must be positive")
            }
        }

        func run() async throws {
            let benchmark = FailoverBenchmark(
                writers: writers, seconds: seconds, synchronous: synchronous, branches: branches, clients: clients)
            guard try await benchmark.run(logger: BenchCommand.logger("huifang.failover", level: .error)) else { throw ExitCode(1) }
        }
    }

    struct API: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "api",
            abstract: "Each daily request over HTTP against pgbench running the statements it sent, captured from the server's log.",
            discussion: """
                Without --data-dir, DATABASE_URL or --url: a throwaway PostgreSQL with the default demo and a `huifang serve` \
                child on it (--timer-workers 0 --delivery-workers 0). With --data-dir or DATABASE_URL: a `huifang serve` child on that database. \
                With --url: the server already running there, on the database --data-dir or DATABASE_URL names (for the \
                capture, the preparation and pgbench); --server-pid gives its CPU. The capture needs the owner to be a \
                superuser: it sets log_statement with ALTER SYSTEM for a moment and reads the log with pg_read_file.
                """)

        @Option(help: "Concurrent HTTP connections.") var connections = 16
        @Option(help: "Seconds of each phase (and of each pgbench run).") var seconds = 10
        @Option(help: "Branches the writers are spread over; above 1 also prints 1 writer against one writer per branch.")
        var branches = 1
        @Option(help: "A running server to target instead of starting one, e.g. http://127.0.0.1:8080.") var url: String?
        @Option(help: "With --url: the server's process id, to read its CPU time.") var serverPid: Int32?
        @Option(help: "A directory to write each request's pgbench script and variables to (to rerun or compare them).")
        var scripts: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard connections > 0, seconds > 0, branches > 0, database.poolSize > 0 else {
                throw ValidationError("--connections, --seconds, --branches and --pool-size must be positive")
            }
            if let url, URL(string: url)?.port == nil { throw ValidationError("--url needs a port, e.g. http://127.0.0.1:8080") }
            if serverPid != nil && url == nil { throw ValidationError("--server-pid goes with --url") }
        }

        /// Exits 1 when most requests of a phase failed.
        func run() async throws {
            let logger = BenchCommand.logger()
            let benchmark = APIBenchmark(connections: connections, seconds: seconds, branches: branches, poolSize: database.poolSize, scriptsDirectory: scripts)
            let configured = database.dataDir != nil || !(ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "").isEmpty
            guard configured || url != nil else {
                guard try await benchmark.runOnThrowawayDemo(logger: logger) else { throw ExitCode(1) }
                return
            }
            guard configured else { throw ValidationError("--url needs the server's database too: --data-dir or DATABASE_URL") }
            let passed = try await database.withDatabase(logger: logger) { environment in
                try await environment.requireCurrentSchema(logger: logger)
                let server: BenchServer =
                    if let url { .running(url: URL(string: url)!, pid: serverPid) } else {
                        .child(ownerURL: environment.cluster?.url(database: DatabaseOptions.embeddedDatabase) ?? environment.owner.conninfo)
                    }
                return try await benchmark.run(server: server, owner: environment.owner, application: environment.application, logger: logger)
            }
            guard passed else { throw ExitCode(1) }
        }
    }

    struct Lists: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lists",
            abstract: "Every daily list and count of the API as every role, over HTTP: p50/p95 against the goal of p95 < 50 ms.",
            discussion: """
                On the database --data-dir or DATABASE_URL names (e.g. the national set of `huifang demo --records …`): a \
                `huifang serve` child on it (--timer-workers 0 --delivery-workers 0), or with --url the server already running there. Branch \
                roles work in --branch (default the first branch); a role that may not read a list is skipped. Exits 1 \
                when a list misses the goal or answers with an error.
                """)

        @Option(help: "Timed requests of each list in each role (after one warm-up).") var runs = 20
        @Option(help: "The branch the branch roles work in (its code; default the first branch).") var branch: String?
        @Option(help: "Only this role (repeatable), e.g. auditor; default every role but the admin.") var role: [String] = []
        @Option(help: "A running server to target instead of starting one, e.g. http://127.0.0.1:8080.") var url: String?
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            for name in role where Role(rawValue: name) == nil {
                throw ValidationError("--role \(name): one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard runs > 0 else { throw ValidationError("--runs must be positive") }
            if let url, URL(string: url)?.port == nil { throw ValidationError("--url needs a port, e.g. http://127.0.0.1:8080") }
        }

        func run() async throws {
            let logger = BenchCommand.logger()
            let passed = try await database.withDatabase(logger: logger) { environment in
                try await environment.requireCurrentSchema(logger: logger)
                let server: BenchServer =
                    if let url { .running(url: URL(string: url)!, pid: nil) } else {
                        .child(ownerURL: environment.cluster?.url(database: DatabaseOptions.embeddedDatabase) ?? environment.owner.conninfo)
                    }
                return try await ListBenchmark(runs: runs, branch: branch, roles: role.compactMap(Role.init(rawValue:))).run(server: server, owner: environment.owner, logger: logger)
            }
            guard passed else { throw ExitCode(1) }
        }
    }
}
