import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// The monitoring queries must be answerable from indexes: with sequential scans priced out, no
/// plan may still scan a table that grows with the brokerage (it would at national scale).
@Suite("Monitoring query plans use indexes, for HQ and for a branch")
struct MonitoringPlanTests {
    static let large = ["timers", "callback_tasks", "records", "record_signatures", "record_findings", "problems",
                        "problem_forwardings", "problem_events", "clients", "record_uploads", "notifications", "audit_events"]

    /// Whether `plan` reads `table` whole: the table itself, or one of its partitions (by month,
    /// `audit_events_2026_11`; by year, `records_2026`; or the default one).
    static func scans(_ plan: String, _ table: String) -> Bool {
        plan.contains(try! Regex("Seq Scan on \(table)(_[0-9]{4}(_[0-9]{2})?|_default)? "))
    }

    @Test func noMonitoringQueryScansALargeTable() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let now = ISO8601DateFormatter().date(from: "2026-11-25T08:00:00Z")!
            let scopes: [(String, Access, [Int]?)] = [
                ("HQ", Access(staffId: fixture.staff["auditor"]!, action: .readMonitoring, branchIds: [], allBranches: true, organization: false), nil),
                ("branch", Access(staffId: fixture.staff["opsA"]!, action: .readMonitoring, branchIds: [fixture.branchA], allBranches: false,
                                  organization: false), [fixture.branchA]),
            ]
            try await database.withPool(database.application) { pool in
                for (who, access, branches) in scopes {
                    for (name, sql) in MonitoringQueries.all(now: now, month: "2026-11", branches: branches, branchId: fixture.branchA) {
                        // The plan the API runs: prepared once, generic (MonitoringQueries.settings).
                        let plan = try await pool.monitoringTransaction(for: access) { db -> String in
                            try await db.execute("set local enable_seqscan = off")
                            try await db.run(script: "prepare monitoring_query as " + sql.text)
                            let values = sql.parameters.map(SQL.literal)
                            let arguments = values.isEmpty ? "" : "(" + values.joined(separator: ", ") + ")"
                            let lines = try await db.query(SQL("explain execute monitoring_query" + arguments)).map {
                                try $0.decode(0, as: String.self)
                            }
                            try await db.run(script: "deallocate monitoring_query")
                            return lines.joined(separator: "\n")
                        }
                        for table in Self.large {
                            #expect(!Self.scans(plan, table), "\(who): \(name) scans \(table):\n\(plan)")
                        }
                        // The SLA figures read one range of their own index per branch (sql/0037), not
                        // every open clock of the month and then every clock of the kind.
                        if name.contains("SLA") {
                            #expect(plan.contains("Index Only Scan using timers_sla_by_month"), "\(who): \(name):\n\(plan)")
                        }
                    }
                }
            }
        }
    }
}
