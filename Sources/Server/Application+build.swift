import API
import Console
import Hummingbird
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import Postgres
import ServiceLifecycle
import Store

/// The whole HTTP application; `huifang serve` runs it and tests drive it with HummingbirdTesting.
public func buildApplication(_ configuration: AppConfiguration) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "huifang")
    logger.logLevel = configuration.logLevel
    let metrics = PrometheusMetrics.shared
    let requests = configuration.database.with(configuration.requestTimeouts)
    let pool = Pool(
        configuration: requests, size: configuration.poolSize, acquireTimeout: configuration.acquireTimeout,
        maxWaiters: configuration.maxWaitingRequests, logger: logger)
    // Sign-ins and `GET /me` queue here as requests queue for the request pool (four per request
    // connection by default), not four per authentication connection: sixteen concurrent `GET /me`
    // were shed with 503 by a queue of eight.
    let authPool = Pool(
        configuration: requests, size: configuration.authPoolSize, acquireTimeout: configuration.acquireTimeout,
        maxWaiters: configuration.maxWaitingRequests ?? 4 * configuration.poolSize, logger: logger)

    let replica = configuration.readReplica.map { reads in
        ReadReplica(
            pool: Pool(
                configuration: reads.database.with(configuration.requestTimeouts), size: reads.poolSize,
                acquireTimeout: configuration.acquireTimeout, logger: logger),
            maxLag: reads.maxLag, maxWait: reads.maxWait)
    }

    let router = Router(context: AppRequestContext.self)
    router.middlewares.add(SecurityHeadersMiddleware())
    router.middlewares.add(RequestIDMiddleware())
    router.middlewares.add(SourceAddressMiddleware(trustForwardedFor: configuration.trustForwardedFor))
    router.middlewares.add(EntityTagMiddleware())
    router.middlewares.add(LogRequestsMiddleware(.info))
    router.middlewares.add(MetricsMiddleware())
    router.middlewares.add(ProblemMiddleware())
    router.middlewares.add(CancelOnDisconnectMiddleware())
    let auth = AuthStore(pool: authPool)
    let sessions = SessionCache()
    router.middlewares.add(AuthenticationMiddleware(auth: auth, sessions: sessions))
    router.middlewares.add(ContractMiddleware(contract: .shared, maxBodyBytes: configuration.maxBodyBytes))
    router.middlewares.add(IdempotencyMiddleware(keys: IdempotencyKeys(pool: pool)))

    let api = APIService(
        pool: pool, authPool: authPool, reports: ReportReads(primary: pool, replica: replica), migrations: configuration.migrations, definitions: configuration.definitions, metrics: metrics, now: configuration.now, auth: auth, sessions: sessions,
        passwords: Passwords(cost: configuration.bcryptCost))
    // Compact: the runtime's default also pretty-prints, which doubled HQ's year of coverage (6.2 MB
    // for 13,648 rows) and the time to write it. Keys stay sorted, so a body is the same each time.
    try api.registerHandlers(on: router, configuration: .init(dateTranscoder: RFC3339DateTranscoder(), jsonEncodingOptions: [.sortedKeys]))
    Console(
        api: api, pool: pool, explain: { ConsoleFailure(Problem($0)) },
        checkBody: { APIContract.shared.problems(operationId: $0, body: $1).map { .init(field: $0.field, reason: $0.reason) } },
        now: configuration.now
    ).register(on: router)

    var workers: [any Service] = []
    if let replica, let reads = configuration.readReplica {
        workers.append(ReadReplicaService(replica: replica, primary: authPool, every: reads.measureEvery))
    }
    // Timers and the scheduler run batches that may take longer than a request's deadline: their
    // own pool, without the request timeouts.
    let background =
        configuration.timerWorkers != nil || configuration.obligationScheduler != nil || configuration.deliveryWorkers != nil
        ? Pool(
            configuration: configuration.database,
            size: (configuration.timerWorkers?.workers ?? 0) + (configuration.deliveryWorkers?.workers ?? 0) + 1,
            acquireTimeout: .seconds(60), logger: logger)
        : nil
    if let workerConfiguration = configuration.timerWorkers, let background {
        workers.append(
            TimerWorkerService(pool: background, listen: configuration.database, configuration: workerConfiguration, logger: logger))
    }
    if let delivery = configuration.deliveryWorkers, let background {
        workers.append(
            try DeliveryWorkerService(
                pool: background, listen: configuration.database, configuration: delivery, now: configuration.now, logger: logger))
    }
    if let scheduler = configuration.obligationScheduler, let background {
        workers.append(ObligationSchedulerService(pool: background, configuration: scheduler, now: configuration.now, logger: logger))
    }
    let services = PoolService.stoppingLast(
        [pool, authPool] + (background.map { [$0] } ?? []) + (replica.map { [$0.pool] } ?? []), after: workers)

    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [CloseOnInputClosedHandler()])),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "huifang"),
        services: services,
        logger: logger
    )
}
