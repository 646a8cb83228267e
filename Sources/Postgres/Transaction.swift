import Foundation
import Logging

public enum IsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

extension Pool {
    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    ///
    /// Serialization failures and deadlocks run the whole body again (up to `maxAttempts`, with
    /// jittered backoff), so `body` must not have effects outside the database. A connection lost
    /// before `BEGIN` was acknowledged is retried too; one lost later is not, as the commit may have
    /// happened. `settings` become transaction-local run-time parameters (`set_config(…, true)`),
    /// which is how a request states its tenant scope.
    @discardableResult
    public func transaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        settings: [(name: String, value: String)] = [],
        readOnly: Bool = false,
        maxAttempts: Int = 5,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            var began = false
            do {
                return try await withConnection { connection in
                    try await connection.run(
                        script: "BEGIN ISOLATION LEVEL \(isolation.rawValue)\(readOnly ? " READ ONLY" : "")")
                    began = true
                    do {
                        if !settings.isEmpty {
                            try await connection.query(Self.setConfig(settings))
                        }
                        let result = try await body(connection)
                        try await connection.run(script: "COMMIT")
                        return result
                    } catch {
                        if connection.isHealthy { try? await connection.run(script: "ROLLBACK") }
                        throw error
                    }
                }
            } catch let error as PostgresError
                where attempt < maxAttempts && (error.isTransient || (error.isConnectionLoss && !began))
            {
                logger.debug("retrying transaction", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                let base = 0.005 * Double(1 << min(attempt, 6))
                try await Task.sleep(for: .seconds(base * Double.random(in: 0.5...1.5)))
                attempt += 1
            }
        }
    }

    /// `select set_config($1, $2, true), …` for all settings in one round trip.
    static func setConfig(_ settings: [(name: String, value: String)]) -> SQL {
        var parts: [SQL] = []
        for setting in settings {
            parts.append("set_config(\(setting.name), \(setting.value), true)")
        }
        return "select " + SQL.joined(parts, separator: ", ")
    }
}
