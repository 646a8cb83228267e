import Logging

extension Pool {
    /// A pool for the duration of `body`, shut down afterwards whether `body` returns or throws.
    public static func withPool<T>(
        _ configuration: ConnectionConfiguration, size: Int = 1, acquireTimeout: Duration = .seconds(10),
        maxWaiters: Int? = nil, idleCheckInterval: Duration = .seconds(1),
        logger: Logger = Logger(label: "huifang.postgres"), _ body: (Pool) async throws -> T
    ) async throws -> T {
        let pool = Pool(
            configuration: configuration, size: size, acquireTimeout: acquireTimeout, maxWaiters: maxWaiters,
            idleCheckInterval: idleCheckInterval, logger: logger)
        do {
            let result = try await body(pool)
            await pool.shutdown()
            return result
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}
