import API
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
    let pool = Pool(
        configuration: configuration.database, size: configuration.poolSize,
        acquireTimeout: configuration.acquireTimeout, logger: logger)

    let router = Router(context: AppRequestContext.self)
    router.middlewares.add(SecurityHeadersMiddleware())
    router.middlewares.add(RequestIDMiddleware())
    router.middlewares.add(SourceAddressMiddleware(trustForwardedFor: configuration.trustForwardedFor))
    router.middlewares.add(EntityTagMiddleware())
    router.middlewares.add(LogRequestsMiddleware(.info))
    router.middlewares.add(MetricsMiddleware())
    router.middlewares.add(ProblemMiddleware())
    let auth = AuthStore(pool: pool)
    router.middlewares.add(AuthenticationMiddleware(auth: auth))
    router.middlewares.add(ContractMiddleware(contract: .shared, maxBodyBytes: configuration.maxBodyBytes))

    let api = APIService(
        pool: pool, migrations: configuration.migrations, metrics: metrics, now: configuration.now, auth: auth,
        passwords: Passwords(cost: configuration.bcryptCost))
    try api.registerHandlers(on: router, configuration: .init(dateTranscoder: RFC3339DateTranscoder()))

    var services: [any Service] = []
    if let workers = configuration.timerWorkers {
        services.append(
            TimerWorkerService(pool: pool, listen: configuration.database, configuration: workers, logger: logger))
    }
    if let scheduler = configuration.obligationScheduler {
        services.append(ObligationSchedulerService(pool: pool, configuration: scheduler, now: configuration.now, logger: logger))
    }
    // Last, so the pool closes only after everything that uses it has stopped.
    services.append(PoolService(pool: pool))

    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "huifang"),
        services: services,
        logger: logger
    )
}
