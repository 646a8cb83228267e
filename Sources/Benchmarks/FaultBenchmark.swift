import Foundation
import Logging
import Postgres

/// The database's bad days, staged on a private throwaway PostgreSQL (never the configured one, which
/// it would have to restart): each fault, what the pool did, whether that is what it must do, and how
/// long it took.
public struct FaultBenchmark: Sendable {
    public init() {}

    struct Outcome {
        var fault: String
        var expected: String
        var passed: Bool
        var detail: String
        var elapsed: Duration
    }

    /// Stages every fault, prints what happened; false when one outcome is not what it must be.
    public func run(logger: Logger) async throws -> Bool {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("huifang-faults-\(getpid())")
        let cluster = try EmbeddedCluster(
            dataDirectory: directory.appendingPathComponent("pgdata"), settings: ["fsync": "off"], logger: logger)
        try cluster.start()
        defer {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(at: directory)
        }
        let database = cluster.configuration()
        var outcomes: [Outcome] = []
        for fault in Self.faults {
            let started = ContinuousClock.now
            do {
                let (passed, detail) = try await fault.run(database, cluster, logger)
                outcomes.append(Outcome(fault: fault.name, expected: fault.expected, passed: passed, detail: detail, elapsed: .now - started))
            } catch {
                outcomes.append(Outcome(fault: fault.name, expected: fault.expected, passed: false, detail: "\(error)", elapsed: .now - started))
            }
        }
        print("faults on a private PostgreSQL (\(cluster.dataDirectory.path)):")
        for outcome in outcomes {
            let milliseconds = Double(outcome.elapsed.components.seconds) * 1000 + Double(outcome.elapsed.components.attoseconds) / 1e15
            let name = outcome.fault.padding(toLength: 30, withPad: " ", startingAt: 0)
            print("  \(outcome.passed ? "ok  " : "FAIL") \(name) \(String(format: "%6.0f", milliseconds)) ms  want: \(outcome.expected)")
            let detail = outcome.detail.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            print("       got: \(detail)")
        }
        return outcomes.allSatisfy(\.passed)
    }

    struct Fault: Sendable {
        var name: String
        var expected: String
        var run: @Sendable (ConnectionConfiguration, EmbeddedCluster, Logger) async throws -> (Bool, String)
    }

    static let faults: [Fault] = [
        Fault(name: "statement past its deadline", expected: "57014, the same connection serves the next query") { database, _, logger in
            try await Pool.withPool(database.with(SessionTimeouts(statement: .milliseconds(200))), logger: logger) { pool in
                let before = try await backendPID(pool)
                do {
                    try await pool.query("select pg_sleep(30)")
                    return (false, "the statement ran to its end")
                } catch let error as PostgresError where error.sqlState == "57014" {
                    return (try await backendPID(pool) == before, "\(error)")
                }
            }
        },
        Fault(name: "cancelled task", expected: "CancellationError, the backend idle again") { database, _, logger in
            try await Pool.withPool(database, logger: logger) { pool in
                try await Pool.withPool(database, logger: logger) { admin in
                    let pid = try await backendPID(pool)
                    let sleeper = Task { try await pool.query("select pg_sleep(30)") }
                    try await Self.poll(admin, "select exists (select from pg_stat_activity where pid = \(pid) and state = 'active')")
                    sleeper.cancel()
                    let cancelled: Bool
                    do {
                        _ = try await sleeper.value
                        cancelled = false
                    } catch is CancellationError {
                        cancelled = true
                    }
                    let state = try await admin.query("select state from pg_stat_activity where pid = \(pid)").single().decode(0, as: String.self)
                    return (cancelled && state == "idle", "cancelled: \(cancelled), backend \(state)")
                }
            }
        },
        Fault(name: "terminated backends", expected: "the next transaction succeeds") { database, _, logger in
            try await Pool.withPool(database, size: 2, logger: logger) { pool in
                try await Pool.withPool(database, logger: logger) { admin in
                    let pid = try await backendPID(pool)
                    try await admin.query("select pg_terminate_backend(\(pid))")
                    try await Self.poll(admin, "select not exists (select from pg_stat_activity where pid = \(pid))")
                    let value = try await pool.transaction { try await $0.query("select 1").single().decode(0, as: Int.self) }
                    return (value == 1, "answered \(value)")
                }
            }
        },
        Fault(name: "connection lost during COMMIT", expected: "outcome unknown (08007), not retried") { database, _, logger in
            try await Pool.withPool(database, size: 2, logger: logger) { pool in
                try await pool.withConnection {
                    try await $0.run(
                        script: """
                            create table if not exists fault_commit (id int);
                            create or replace function fault_slow_commit() returns trigger language plpgsql as $$
                            begin perform pg_sleep(30); return null; end $$;
                            drop trigger if exists fault_slow_commit on fault_commit;
                            create constraint trigger fault_slow_commit after insert on fault_commit deferrable initially deferred
                                for each row execute function fault_slow_commit();
                            """)
                }
                return try await Pool.withPool(database, logger: logger) { admin in
                    let attempts = Attempts()
                    let writer = Task {
                        try await pool.transaction { connection in
                            attempts.add()
                            try await connection.query("insert into fault_commit values (1)")
                        }
                    }
                    try await Self.poll(admin, "select exists (select from pg_stat_activity where query = 'COMMIT' and state = 'active')")
                    try await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where query = 'COMMIT' and state = 'active'")
                    do {
                        try await writer.value
                        return (false, "reported committed")
                    } catch let error as PostgresError {
                        return (error.isOutcomeUnknown && attempts.count == 1, "\(error), \(attempts.count) attempt(s)")
                    }
                }
            }
        },
        Fault(name: "server restart", expected: "the first query after succeeds") { database, cluster, logger in
            try await Pool.withPool(database, size: 2, logger: logger) { pool in
                _ = try await backendPID(pool)
                try cluster.stop(mode: "fast")
                try cluster.start()
                let value = try await pool.transaction { try await $0.query("select 2").single().decode(0, as: Int.self) }
                return (value == 2, "answered \(value)")
            }
        },
        Fault(name: "overload", expected: "past 4 × pool size waiting, refused at once") { database, _, logger in
            try await Pool.withPool(database, size: 2, acquireTimeout: .seconds(60), logger: logger) { pool in
                let results = await withTaskGroup(of: String.self) { group in
                    for _ in 0..<40 {
                        group.addTask {
                            do {
                                try await pool.query("select pg_sleep(0.2)")
                                return "served"
                            } catch let error as PoolError {
                                if case .overloaded = error { return "refused" }
                                return "\(error)"
                            } catch {
                                return "\(error)"
                            }
                        }
                    }
                    return await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
                }
                let served = results["served"] ?? 0
                let refused = results["refused"] ?? 0
                return (served >= 10 && refused > 0 && served + refused == 40, "\(served) served, \(refused) refused")
            }
        },
    ]

    private static func poll(_ pool: Pool, _ condition: SQL) async throws {
        for _ in 0..<3000 {
            if try await pool.query(condition).single().decode(0, as: Bool.self) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw BenchmarkError("waited 30 s for: \(condition.text)")
    }
}

/// The server process of the pool's one connection.
private func backendPID(_ pool: Pool) async throws -> Int32 {
    try await pool.withConnection { $0.backendPID }
}

/// Counts a transaction's attempts from inside its body.
private final class Attempts: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}
