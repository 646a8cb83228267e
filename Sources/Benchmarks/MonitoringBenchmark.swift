import Domain
import Foundation
import Logging
import Postgres
import Store

/// Every monitoring query, as an HQ reader (every branch, row-level security on), as a branch's
/// ops director (RLS on), and as the owner with the same explicit branch filter, in one run: p50
/// and p95 per query. The RLS ratio comes from pgbench running the branch reader's query both ways
/// — the same client, protocol and statement, only the role and its scope differ; each side's best of
/// three alternating rounds — because two
/// connections of this process can differ by tens of microseconds for reasons that are not RLS,
/// which on queries of a few dozen microseconds would be most of the ratio.
public struct MonitoringBenchmark: Sendable {
    var runs: Int
    var branch: String?
    var month: String?
    var ratioSeconds: Int

    /// `branch`: the code of the branch whose ops director is the branch reader (nil: the first);
    /// `month`: YYYY-MM (nil: the current one in Shanghai).
    public init(runs: Int, branch: String?, month: String?, ratioSeconds: Int) {
        self.runs = runs
        self.branch = branch
        self.month = month
        self.ratioSeconds = ratioSeconds
    }

    /// Runs on the data the owner and the request role see there, and prints the figures.
    public func run(owner ownerConfiguration: ConnectionConfiguration, application: ConnectionConfiguration, logger: Logger) async throws {
        let runs = self.runs, branchCode = self.branch, givenMonth = self.month, ratioSeconds = self.ratioSeconds
        try await Pool.withPool(ownerConfiguration, size: 1, logger: logger) { owner in
            try await Pool.withPool(application, size: 1, logger: logger) { app in
                let setup = try await owner.transaction { db -> (branch: Int, code: String, ops: Int64, hq: Int64, month: String) in
                    let branchRow = try await db.query(
                        "select id, code from huifang.branches where (\(branchCode)::text is null or code = \(branchCode)) order by code limit 1"
                    ).first
                    guard let branchRow else { throw BenchmarkError("no branch \(branchCode ?? "at all"); load data first (huifang demo --load-only)") }
                    let branch: Int = try branchRow.decode(0)
                    guard let ops: Int64 = try await db.query(
                        "select staff_id from huifang.role_grants where branch_id = \(branch) and role = 'ops_director' and revoked_at is null limit 1"
                    ).first?.decode(0),
                        let hq: Int64 = try await db.query(
                            "select staff_id from huifang.role_grants where role = 'auditor' and revoked_at is null limit 1"
                        ).first?.decode(0)
                    else { throw BenchmarkError("the branch needs an ops director and the organization an auditor") }
                    var month = givenMonth
                    if month == nil {
                        month = try await db.query("select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')").single().decode(0, as: String.self)
                    }
                    return (branch, try branchRow.decode(1), ops, hq, month!)
                }
                let now = Date()
                let hqAccess = Access(staffId: setup.hq, action: .readMonitoring, branchIds: [], allBranches: true, organization: false)
                let branchAccess = Access(
                    staffId: setup.ops, action: .readMonitoring, branchIds: [setup.branch], allBranches: false, organization: false)
                let hqQueries = MonitoringQueries.all(now: now, month: setup.month, branches: nil, branchId: setup.branch)
                let branchQueries = MonitoringQueries.all(now: now, month: setup.month, branches: [setup.branch], branchId: setup.branch)
                let volume = try await owner.query(
                    """
                    select (select count(*) from huifang.branches), (select count(*) from huifang.clients),
                           (select count(*) from huifang.records), (select count(*) from huifang.problems where state <> 'closed'),
                           (select count(*) from huifang.timers where stopped_at is null),
                           (select count(*) from huifang.timers where stopped_at is null and due_at <= now())
                    """
                ).single()
                let figures = try (0..<6).map { try volume.decode($0, as: Int.self) }
                print("data: \(figures[0]) branches, \(figures[1]) clients, \(figures[2]) records, \(figures[3]) open problems, "
                      + "\(figures[4]) running clocks (\(figures[5]) overdue)")
                print("monitoring: \(runs) runs per query and role; branch reader: ops director of \(setup.code); month \(setup.month)")
                print("query                        HQ p50/p95 ms      branch p50/p95 ms   owner p50/p95 ms   RLS ratio (pgbench latency)")
                var worst = 0.0
                var worstRatio = 0.0
                for index in hqQueries.indices {
                    // Each role times its query inside one open transaction of its scope, set up as
                    // the API sets up its monitoring reads (the owner too), so the numbers compare
                    // the query itself, not the transaction's round trips.
                    let hq = try await app.monitoringTransaction(for: hqAccess) { db in
                        try await Self.time(runs) { _ = try await db.query(hqQueries[index].sql) }
                    }
                    let asBranch = try await app.monitoringTransaction(for: branchAccess) { db in
                        try await Self.time(runs) { _ = try await db.query(branchQueries[index].sql) }
                    }
                    let asOwner = try await owner.transaction(settings: MonitoringQueries.settings, readOnly: true) { db in
                        try await Self.time(runs) { _ = try await db.query(branchQueries[index].sql) }
                    }
                    // Three rounds, the two sides alternating; each side's best round, so a moment of
                    // interference on this machine (a vacuum, another process) weighs on neither.
                    let script = branchQueries[index].sql
                    var rlsLatency = Double.infinity, ownerLatency = Double.infinity
                    for _ in 0..<3 {
                        rlsLatency = min(rlsLatency, try Self.pgbenchLatency(
                            script, application, settings: branchAccess.databaseSettings + MonitoringQueries.settings,
                            seconds: ratioSeconds))
                        ownerLatency = min(ownerLatency, try Self.pgbenchLatency(
                            script, ownerConfiguration, settings: MonitoringQueries.settings, seconds: ratioSeconds))
                    }
                    let ratio = rlsLatency / max(ownerLatency, 0.000_001)
                    worst = max(worst, hq.p95, asBranch.p95)
                    worstRatio = max(worstRatio, ratio)
                    let name = hqQueries[index].name.padding(toLength: 28, withPad: " ", startingAt: 0)
                    print(name + String(format: " %7.2f / %-8.2f  %7.2f / %-8.2f  %7.2f / %-8.2f  %.2f (%.3f / %.3f ms)",
                                        hq.p50, hq.p95, asBranch.p50, asBranch.p95, asOwner.p50, asOwner.p95, ratio,
                                        rlsLatency, ownerLatency))
                }
                print(String(format: "worst p95 %.2f ms (goal < 50); worst RLS ratio %.2f (goal ≤ 1.20)", worst, worstRatio))
            }
        }
    }

    /// pgbench's average latency in milliseconds for `sql` (its parameters written in), one client,
    /// as `configuration` connects, with `settings` for the session.
    static func pgbenchLatency(
        _ sql: SQL, _ configuration: ConnectionConfiguration, settings: [(name: String, value: String)], seconds: Int
    ) throws -> Double {
        try Pgbench.run(
            // As written, lines and all: pgbench reads a statement up to its semicolon, and joined into
            // one line, a `--` comment in it swallowed the rest (the overdue counts failed).
            script: sql.inlined + ";\n", conninfo: configuration.conninfo,
            environment: configuration.toolEnvironment(settings: settings), clients: 1, seconds: seconds
        ).latencyMilliseconds
    }

    /// Milliseconds: one warm-up, then `runs` timed runs; p50 and p95.
    static func time(_ runs: Int, _ body: () async throws -> Void) async throws -> (p50: Double, p95: Double) {
        try await body()
        var samples: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<runs {
            let elapsed = try await clock.measure { try await body() }
            samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        samples.sort()
        return (samples.quantile(0.5), samples.quantile(0.95))
    }
}
