import Logging
import Postgres
import ServiceLifecycle

/// The services of `huifang worker`: the SLA timer engine, the delivery engine (unless nil) and the
/// obligation scheduler on their own pool, without the HTTP server.
public func standaloneWorkerServices(
    database: ConnectionConfiguration, configuration: TimerWorkerService.Configuration,
    delivery: DeliveryWorkerService.Configuration? = nil, logger: Logger
) throws -> [any Service] {
    let pool = Pool(configuration: database, size: configuration.workers + (delivery?.workers ?? 0) + 1, logger: logger)
    var services: [any Service] = [TimerWorkerService(pool: pool, listen: database, configuration: configuration, logger: logger)]
    if let delivery {
        services.append(try DeliveryWorkerService(pool: pool, listen: database, configuration: delivery, logger: logger))
    }
    services.append(ObligationSchedulerService(pool: pool, logger: logger))
    return PoolService.stoppingLast([pool], after: services)
}
