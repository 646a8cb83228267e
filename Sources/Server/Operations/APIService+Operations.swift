import API
import Foundation
import Hummingbird
import OpenAPIRuntime
import Store

extension APIService {
    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        var health = await SystemHealth.check(pool: authPool, expected: migrations, definitions: definitions, now: now())
        if let replica = reports.replica { health.checks.append(replica.healthCheck) }
        let body = Components.Schemas.Health(
            status: !health.isHealthy ? .unavailable : health.hasWarnings ? .warn : .ok,
            checks: health.checks.map { .init(name: $0.name, ok: $0.ok, warning: $0.warning ? true : nil, detail: $0.detail) })
        return health.isHealthy ? .ok(.init(body: .json(body))) : .serviceUnavailable(.init(body: .json(body)))
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        // Without the database the rest of the figures still matter: the delivery gauges are left out.
        let deliveries = try? await DeliveryCounts.outstanding(pool: authPool)
        return .ok(.init(body: .plainText(HTTPBody(metrics.render(pool: pool, authPool: authPool, deliveries: deliveries, replica: reports.replica)))))
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) async throws -> Operations.GetOpenAPIDocument.Output {
        .ok(.init(body: .yaml(HTTPBody(OpenAPIDocument.yaml))))
    }
}
