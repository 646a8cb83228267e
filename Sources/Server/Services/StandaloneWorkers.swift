import Logging
import Postgres
import ServiceLifecycle

/// The services of `huifang worker`: the SLA timer engine on its own pool, without the HTTP server.
public func standaloneWorkerServices(
    database: ConnectionConfiguration, configuration: TimerWorkerService.Configuration, logger: Logger
) -> [any Service] {
    let pool = Pool(configuration: database, size: configuration.workers + 1, logger: logger)
    return [
        TimerWorkerService(pool: pool, listen: database, configuration: configuration, logger: logger),
        PoolService(pool: pool),
    ]
}
