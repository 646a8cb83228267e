import Postgres
import ServiceLifecycle
import Store

/// Measures the read replica's lag every `every`, so that reads stop trying it when it falls behind
/// or goes down and try it again when it is back (`ReadReplica`).
struct ReadReplicaService: Service {
    let replica: ReadReplica
    let primary: Pool
    let every: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await replica.measure(primary: primary)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: every) }
        }
    }
}
