import DemoData
import Domain
import Foundation
import Logging
import Postgres
import Store

/// The private PostgreSQL of `huifang bench outage`: a throwaway cluster with a migrated `huifang`
/// database and a small demo organization, and the faults staged on it.
struct OutageCluster: Sendable {
    static let database = "huifang_bench_outage"

    let cluster: EmbeddedCluster
    let logger: Logger

    /// The owner's URL for `huifang serve` (the cluster's superuser, over the unix socket).
    var url: String { cluster.url(database: Self.database) }
    var owner: ConnectionConfiguration { cluster.configuration(database: Self.database) }

    /// Creates, migrates and loads the database (2 branches, 200 clients).
    func prepare(seed: UInt64) async throws {
        try await ThrowawayDemo.createDatabase(
            Self.database, on: cluster, demo: DemoData(branches: 2, clients: 200, seed: seed), full: false, logger: logger)
    }

    /// A staff member who may raise problems in a branch, and open clients of that branch.
    func writer() async throws -> (employeeNo: String, clientIds: [Int64]) {
        try await Pool.withPool(owner, logger: logger) { pool in
            let login = try await pool.query(
                """
                select s.employee_no, g.branch_id from huifang.role_grants g
                join huifang.staff s on s.id = g.staff_id and s.status = 'active'
                join huifang.staff_credentials c on c.staff_id = s.id
                where g.revoked_at is null and g.role = \(Role.responsiblePerson.rawValue)
                order by s.id limit 1
                """
            ).single()
            let branch = try login.decode(1, as: Int32.self)
            let clients = try await pool.query(
                "select id from huifang.clients where branch_id = \(branch) and status = 'open' order by id limit 50"
            ).map { try $0.decode(0, as: Int64.self) }
            guard !clients.isEmpty else { throw BenchmarkError("the demo branch \(branch) has no open clients") }
            return (try login.decode(0, as: String.self), clients)
        }
    }

    /// SIGKILL to the postmaster, as a crash or the OOM killer would send it.
    func killPostmaster() throws {
        let file = cluster.dataDirectory.appendingPathComponent("postmaster.pid")
        guard let text = try? String(contentsOf: file, encoding: .utf8),
              let pid = text.split(separator: "\n").first.flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) })
        else { throw BenchmarkError("cannot read the postmaster's pid from \(file.path)") }
        guard kill(pid, SIGKILL) == 0 else { throw BenchmarkError("kill -KILL \(pid): errno \(errno)") }
    }

    /// Starts the cluster again, retrying while the killed server's backends still hold its shared memory.
    func restart() async throws {
        for attempt in 1... {
            do {
                try cluster.start()
                return
            } catch where attempt < 20 {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Ends every connection of the request role.
    func terminateApplicationBackends() async throws -> Int {
        try await Pool.withPool(owner, logger: logger) { pool in
            try await pool.query(
                "select pg_terminate_backend(pid) from pg_stat_activity where usename = \(DatabaseRoles.application)"
            ).count
        }
    }

    /// Holds an ACCESS EXCLUSIVE lock on the problems for `duration`, in a transaction of its own;
    /// `locked` runs once the lock is held. Returns when it was taken and released.
    func holdProblemsLock(for duration: Duration, locked: @Sendable () -> Void) async throws -> Range<ContinuousClock.Instant> {
        try await Pool.withPool(owner, logger: logger) { pool in
            try await pool.withConnection { connection in
                try await connection.run(script: "begin; lock table huifang.problems in access exclusive mode")
                let taken = ContinuousClock.now
                locked()
                try await Task.sleep(for: duration)
                try await connection.run(script: "rollback")
                return taken..<ContinuousClock.now
            }
        }
    }

    /// How many problems each marker names (absent markers are not listed).
    func markerCounts() async throws -> [String: Int] {
        try await Pool.withPool(owner, logger: logger) { pool in
            let rows = try await pool.query(
                """
                select description, count(*)::int from huifang.problems
                where starts_with(description, \(OutageWriter.markerPrefix)) group by description
                """)
            var counts: [String: Int] = [:]
            for row in rows { counts[try row.decode(0, as: String.self)] = try row.decode(1, as: Int.self) }
            return counts
        }
    }
}
