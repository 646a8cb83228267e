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
    /// Serialization failures, deadlocks and a prepared statement whose table changed under it run
    /// the whole body again (up to `maxAttempts`, with jittered backoff), so `body` must not have
    /// effects outside the database. A connection lost before `BEGIN` was acknowledged is retried
    /// too; one lost later is not, and one lost during `COMMIT` throws `isOutcomeUnknown` (the
    /// commit may have happened). A body that caught a statement's error leaves a failed
    /// transaction, which throws 25P02 instead of pretending to commit. `settings` become
    /// transaction-local run-time parameters (`set_config(…, true)`), which is how a request states
    /// its tenant scope; `check` is a statement that must succeed before anything else runs (the
    /// request's session still valid). BEGIN, the settings and the check are sent with the body's first statement, in one
    /// pipeline: a one-statement transaction costs two round trips, the statement and COMMIT.
    @discardableResult
    public func transaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        settings: [(name: String, value: String)] = [],
        check: SQL? = nil,
        readOnly: Bool = false,
        maxAttempts: Int = 5,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            var began = false
            do {
                return try await withConnection { connection in
                    // BEGIN and the settings travel with the body's first statement, in one round trip.
                    let begin: SQL = "BEGIN ISOLATION LEVEL \(unescaped: isolation.rawValue)\(unescaped: readOnly ? " READ ONLY" : "")"
                    connection.sendAhead([begin] + (settings.isEmpty ? [] : [Self.setConfig(settings)]) + (check.map { [$0] } ?? []))
                    let result: T
                    do {
                        result = try await body(connection)
                    } catch {
                        began = connection.hasBegun
                        await connection.rollback()
                        throw error
                    }
                    began = true
                    // A body that sent nothing commits nothing (Connection.commit).
                    try await connection.commit()
                    return result
                }
            } catch let error as PostgresError
                where attempt < maxAttempts && Self.mayRunAgain(after: error, began: began)
            {
                logger.debug("retrying transaction", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                let base = 0.005 * Double(1 << min(attempt, 6))
                try await Task.sleep(for: .seconds(base * Double.random(in: 0.5...1.5)))
                attempt += 1
            }
        }
    }

    /// Whether running the transaction again is safe and may succeed: the server refused it as a
    /// whole (serialization, deadlock, a stale prepared statement), or the connection was lost before
    /// anything of it ran. Never after COMMIT was sent.
    static func mayRunAgain(after error: PostgresError, began: Bool) -> Bool {
        if error.isOutcomeUnknown { return false }
        return error.isTransient || error.isCachedPlanChanged || (error.isConnectionLoss && !began)
    }

    /// `plan_cache_mode = force_generic_plan` for one transaction: its statements are planned once
    /// per connection, not for each run's values (monitoring reads, a record named by id).
    public static let genericPlans: [(name: String, value: String)] = [("plan_cache_mode", "force_generic_plan")]

    /// `plan_cache_mode = force_custom_plan` for one transaction: each run is planned for its values.
    /// For a report whose right plan depends on them (a period's labels and bounds): from its sixth
    /// run a connection may otherwise keep a generic plan, which for HQ's coverage of a year was 5–8×
    /// slower than planning it each time.
    public static let customPlans: [(name: String, value: String)] = [("plan_cache_mode", "force_custom_plan")]

    /// `select set_config($1, $2, true), …` for all settings in one round trip.
    ///
    /// A `plan_cache_mode` the server asks for (`genericPlans`) yields to one the database or role
    /// was set to (the parameter is no longer `auto`): an operator who forced custom plans, say to
    /// get past one bad generic plan, keeps them for every statement.
    static func setConfig(_ settings: [(name: String, value: String)]) -> SQL {
        var parts: [SQL] = []
        for setting in settings {
            if setting.name == "plan_cache_mode" {
                parts.append(
                    "set_config('plan_cache_mode', case current_setting('plan_cache_mode') when 'auto' then \(setting.value) "
                        + "else current_setting('plan_cache_mode') end, true)")
            } else {
                parts.append("set_config(\(setting.name), \(setting.value), true)")
            }
        }
        return "select " + SQL.joined(parts, separator: ", ")
    }
}
