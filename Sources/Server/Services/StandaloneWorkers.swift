import Logging
import Postgres
import ServiceLifecycle

/// The services of `huifang worker`: the SLA timer engine and the obligation scheduler on their own
/// pool, without the HTTP server.
public func standaloneWorkerServices(
    database: ConnectionConfiguration, configuration: TimerWorkerService.Configuration, logger: Logger
) -> [any Service] {
    let pool = Pool(configuration: database, size: configuration.workers + 1, logger: logger)
    return PoolService.stoppingLast(
        [pool],
        after: [
            TimerWorkerService(pool: pool, listen: database, configuration: configuration, logger: logger),
            ObligationSchedulerService(pool: pool, logger: logger),
        ])
}
