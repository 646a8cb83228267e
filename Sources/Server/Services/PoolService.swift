import Postgres
import ServiceLifecycle

/// Closes the database pools when the application shuts down, after everything that uses them.
struct PoolService: Service {
    let pools: [Pool]

    func run() async throws {
        try? await gracefulShutdown()
        for pool in pools { await pool.shutdown() }
    }

    /// The services in the order a `ServiceGroup` needs: it shuts services down in reverse order,
    /// each after the one behind it has finished, so the pools come first and close last — after
    /// the HTTP server (which Hummingbird appends behind these) has let its in-flight requests
    /// finish, and after the timer workers and the scheduler have stopped.
    static func stoppingLast(_ pools: [Pool], after users: [any Service]) -> [any Service] {
        [PoolService(pools: pools)] + users
    }
}
