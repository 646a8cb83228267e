import Foundation
import Logging
import Postgres

/// Everything `buildApplication` needs, as a value: main fills it from flags and environment, tests by hand.
public struct AppConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Connections for requests: the `huifang_app` role, subject to row-level security.
    public var database: ConnectionConfiguration
    public var poolSize: Int
    public var acquireTimeout: Duration
    /// Requests that may wait for a request connection; past it they get 503 at once. nil: 4 × `poolSize`.
    public var maxWaitingRequests: Int? = nil
    /// Deadlines of every request statement (`statement_timeout`, `lock_timeout`,
    /// `idle_in_transaction_session_timeout`); the `options` of the database URL win over them.
    public var requestTimeouts: SessionTimeouts = .api
    /// Connections of the separate pool for sign-in, authentication and `/health`, so that a flood of
    /// slow requests cannot lock everyone out.
    public var authPoolSize: Int = 2
    /// The migrations this build ships; `/health` is unhealthy until the database has exactly these.
    public var migrations: [Migration]
    /// The definition files this build ships (`sql/definitions`); `/health` is unhealthy while the
    /// database has other versions of them. None: not checked.
    public var definitions: [Definition] = []
    public var logLevel: Logger.Level
    /// The current time; tests pin it to put "today" where they need it.
    public var now: @Sendable () -> Date = { Date() }
    /// bcrypt work factor for new password hashes (tests lower it; every hash records its own).
    public var bcryptCost: UInt8 = Self.defaultBcryptCost
    /// The cost every hash should have, so that checking a password costs the same for everyone
    /// (an unknown employee number is checked against a decoy at the configured cost).
    public static let defaultBcryptCost: UInt8 = 12
    /// The largest request body accepted, in bytes, unless an operation states its own
    /// (`x-max-body-bytes` in openapi.yaml, for the bulk operations).
    public var maxBodyBytes = 1 << 20
    /// Behind a reverse proxy: take the client's address from the last `X-Forwarded-For` entry
    /// (only when the proxy sets it; otherwise anyone could choose their own address).
    public var trustForwardedFor = false
    /// The SLA timer workers to run inside the server; nil runs none (tests drive the engine directly).
    public var timerWorkers: TimerWorkerService.Configuration? = nil
    /// The workers that deliver notifications to their channels and compose the daily digest; nil runs none.
    public var deliveryWorkers: DeliveryWorkerService.Configuration? = nil
    /// The scheduler that generates periodic callback tasks; nil runs none.
    public var obligationScheduler: ObligationSchedulerService.Configuration? = nil
    /// A hot standby for the heavy reads (monitoring, coverage, assessment, evaluation lists); nil:
    /// everything reads on the primary.
    public var readReplica: ReadReplicaConfiguration? = nil

    public init(
        host: String = "127.0.0.1", port: Int = 8080, database: ConnectionConfiguration, poolSize: Int = 8,
        acquireTimeout: Duration = .seconds(5), migrations: [Migration], logLevel: Logger.Level = .info
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.poolSize = poolSize
        self.acquireTimeout = acquireTimeout
        self.migrations = migrations
        self.logLevel = logLevel
    }
}

/// Where and how the heavy reads go to a hot standby (`HUIFANG_READ_DATABASE_URL`); see `ReadReplica`.
public struct ReadReplicaConfiguration: Sendable {
    /// The standby, as the request role `huifang_app`.
    public var database: ConnectionConfiguration
    public var poolSize: Int
    /// Behind by more than this, or unreachable, and reads go to the primary (`HUIFANG_READ_MAX_LAG_SECONDS`).
    public var maxLag: Duration
    /// How long a read waits for the standby to replay what the primary had written when it began.
    public var maxWait: Duration
    /// How often the standby's lag is measured.
    public var measureEvery: Duration

    public init(
        database: ConnectionConfiguration, poolSize: Int = 4, maxLag: Duration = .seconds(30), maxWait: Duration = .milliseconds(500),
        measureEvery: Duration = .seconds(1)
    ) {
        var database = database
        database.readsFromStandby = true
        self.database = database
        self.poolSize = poolSize
        self.maxLag = maxLag
        self.maxWait = maxWait
        self.measureEvery = measureEvery
    }
}
