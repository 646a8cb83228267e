import Foundation

/// The table of `huifang bench api` and the goals of issue 23 beside it.
struct APIReport: Sendable {
    var rows: [APIRow]
    var scaling: (one: LoadResult, many: LoadResult)?
    var connections: Int
    var poolSize: Int

    /// Most requests of a phase failing means the figures are of error paths: the run fails.
    var passed: Bool { rows.allSatisfy { $0.http.failed <= $0.http.succeeded } }

    func print() {
        Swift.print("")
        Swift.print("request                          HTTP req/s  p50 ms  p99 ms  non-2xx  pgbench tps  ratio  server CPU ms/req  load-gen CPU ms/req  statements  round trips")
        for row in rows {
            let http = row.http
            let ratio = row.pgbench.map { http.rate / $0.transactionsPerSecond }
            let line = row.name.padding(toLength: 32, withPad: " ", startingAt: 0)
                + String(format: " %10.0f  %6.2f  %6.2f  %7d", http.rate, http.percentile(0.5), http.percentile(0.99), http.failed)
                + (row.pgbench.map { String(format: "  %11.0f", $0.transactionsPerSecond) } ?? "            —")
                + (ratio.map { String(format: "  %5.2f", $0) } ?? "      —")
                + (http.serverCPUMillisecondsPerRequest.map { String(format: "  %17.3f", $0) } ?? "                  —")
                + (http.clientCPUSeconds.map { String(format: "  %19.3f", $0 * 1000 / Double(max(http.succeeded + http.failed, 1))) } ?? "")
                + String(format: "  %10d  %11d", row.replay.statements, row.replay.roundTrips)
            Swift.print(line)
        }
        Swift.print("")
        for row in rows {
            if row.http.exhausted {
                Swift.print(String(format: "note: %@ ran out of prepared objects after %.1f s (its rate is over that time)", row.name, row.http.seconds))
            }
            if let failure = row.http.firstFailure { Swift.print("note: \(row.name): first non-2xx: \(failure)") }
            if let failure = row.pgbenchFailure { Swift.print("note: \(row.name): pgbench did not run: \(failure)") }
        }
        printGoals()
        if !passed { Swift.print("FAILED: most requests of a phase were not 2xx; the figures are of error paths") }
    }

    private func printGoals() {
        Swift.print("goals (issue 23):")
        let reads = rows.filter { $0.kind != .write }.compactMap { row in row.pgbench.map { row.http.rate / $0.transactionsPerSecond } }
        let writes = rows.filter { $0.kind == .write }.compactMap { row in row.pgbench.map { row.http.rate / $0.transactionsPerSecond } }
        if let worst = reads.min() {
            Swift.print(String(format: "  reads over HTTP ≥ 1.0× pgbench on the pre-change statements, ≥ 0.8× on the statements sent now: worst read %.2f×", worst))
        }
        if let worst = writes.min() {
            Swift.print(String(format: "  writes over HTTP ≥ 0.8× pgbench on their statements: worst write %.2f×", worst))
        }
        if let scaling {
            Swift.print(String(format: "  raise, 1 writer in 1 branch %.0f req/s; %d writers in %d branches %.0f req/s: %.2f× (goal with 8 branches ≥ 1.6×)",
                               scaling.one.rate, scaling.many.connections, scaling.many.connections,
                               scaling.many.rate, scaling.many.rate / max(scaling.one.rate, 0.001)))
        } else {
            Swift.print("  8 writers on 8 branches ≥ 1.6× of 1 writer: run with --branches 8")
        }
        let simple = rows.filter { $0.kind == .simpleRead }.compactMap(\.http.serverCPUMillisecondsPerRequest)
        if let worst = simple.max() {
            Swift.print(String(format: "  server CPU per simple read ≤ 0.2 ms: %.3f ms (GET /me, GET /clients/{id}; the worst)", worst))
        }
    }
}
