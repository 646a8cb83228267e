import Postgres
import ServiceLifecycle

/// Closes the request pool when the application shuts down.
struct PoolService: Service {
    let pool: Pool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.shutdown()
    }
}
