import Foundation
import Postgres
import TestSupport

@testable import Benchmarks

/// The plans PostgreSQL executed for a test database, as `auto_explain` logs them: every statement
/// of every session on that database, nested ones too (PL/pgSQL functions, triggers, foreign-key
/// checks), each planned for its values (`plan_cache_mode = force_custom_plan`, so a parameter
/// shows as the constant it was; the plan modes the server asks for yield to the database's). Set on the
/// database only, so the other tests of the shared cluster log nothing; sessions opened after
/// `enable` log. Requests are told apart by `StatementCapture`'s marker statements, whose own
/// plans carry their names.
struct PlanLog: Sendable {
    struct Plan: Sendable {
        var query: String
        var root: ShardRouting.Node
        /// The PL/pgSQL or SQL-function line that ran it, for a nested statement.
        var context: String?
    }

    let owner: Pool
    let log: ServerLogFile
    let start: Int64

    static let settings = [
        "session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = 0",
        "auto_explain.log_nested_statements = on", "auto_explain.log_format = json", "plan_cache_mode = force_custom_plan",
    ]

    /// Turns the logging on for `database`: the sessions opened from now on log their plans.
    static func enable(on database: TestDatabase) async throws {
        try await database.withPool(size: 1) { owner in
            try await owner.withConnection { connection in
                for setting in settings { try await connection.run(script: "alter database \(database.name) set \(setting)") }
            }
        }
    }

    /// Reads from here on; `owner` is a pool opened after `enable`, so its markers are logged too.
    static func start(owner: Pool) async throws -> PlanLog {
        let log = try await ServerLogFile.locate(owner: owner)
        return PlanLog(owner: owner, log: log, start: try await log.size())
    }

    /// Names what is sent next.
    func mark(_ name: String) async throws {
        try await StatementCapture.mark(name, owner: owner)
    }

    /// The plans logged since `enable`, by the marker before them, in order.
    func plansByRequest() async throws -> [(name: String, plans: [Plan])] {
        var groups: [(name: String, plans: [Plan])] = []
        for plan in Self.parse(try await log.text(since: start)) {
            if let name = StatementCapture.markerName(plan.query) {
                groups.append((name, []))
            } else if !groups.isEmpty {
                groups[groups.count - 1].plans.append(plan)
            }
        }
        return groups
    }

    /// The plans of a log written with the default `log_line_prefix` (`%m [%p] `): an entry starts
    /// with its timestamp; auto_explain's JSON continues on lines that start with a tab; the
    /// CONTEXT entry that follows a nested statement's plan in the same process names its function.
    static func parse(_ text: String) -> [Plan] {
        var plans: [Plan] = []
        var lastPlanOfProcess: [Substring: Int] = [:]
        var entry: (process: Substring, message: String)?
        func finish() {
            guard let (process, message) = entry else { return }
            entry = nil
            if message.hasPrefix("LOG:  duration: "), let start = message.range(of: "plan:\n") {
                let json = Data(message[start.upperBound...].utf8)
                guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
                      let query = object["Query Text"] as? String, let plan = object["Plan"] as? [String: Any]
                else { return }
                plans.append(Plan(query: query, root: ShardRouting.Node(json: plan)))
                lastPlanOfProcess[process] = plans.count - 1
            } else if message.hasPrefix("CONTEXT:  "), let index = lastPlanOfProcess.removeValue(forKey: process) {
                plans[index].context = String(message.dropFirst("CONTEXT:  ".count)).replacingOccurrences(of: "\n", with: " / ")
            } else {
                lastPlanOfProcess[process] = nil
            }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let (process, message) = entryStart(line) {
                finish()
                entry = (process, String(message))
            } else if entry != nil {
                entry!.message += "\n" + (line.hasPrefix("\t") ? line.dropFirst() : line)
            }
        }
        finish()
        return plans
    }

    /// `2026-07-01 10:00:00.123 UTC [4242] LOG:  …` → ("4242", "LOG:  …").
    static func entryStart(_ line: Substring) -> (process: Substring, message: Substring)? {
        guard line.count > 24, line.prefix(4).allSatisfy(\.isNumber), line.dropFirst(4).first == "-",
              let open = line.firstIndex(of: "["), let close = line[open...].firstIndex(of: "]"),
              line[line.index(after: open)..<close].allSatisfy(\.isNumber)
        else { return nil }
        return (line[line.index(after: open)..<close], line[line.index(close, offsetBy: 2, limitedBy: line.endIndex)!...])
    }

    /// Relation name → distribution column of every table (and partition) a Citus cluster would
    /// distribute (docs/scaling.md): by `branch_id` (`DistributedTables.byBranch`); the audit trail
    /// and its chain heads by `chain` (a branch's chain is numbered by the branch); deliveries by
    /// `notification_branch_id`, co-located with notifications (the decided exceptions of
    /// `DistributionReadinessTests`).
    static func distributedTables(_ owner: Pool) async throws -> [String: String] {
        let rows = try await owner.query(
            """
            with distributed (oid, col) as (
                select oid, 'branch_id' from (\(DistributedTables.byBranch)) t
                union all
                select c.oid, d.col from pg_class c
                join (values ('audit_events', 'chain'), ('audit_chain_heads', 'chain'), ('audit_archived_heads', 'chain'),
                             ('deliveries', 'notification_branch_id')) d (relname, col) on d.relname = c.relname
                where c.relnamespace = 'huifang'::regnamespace
            )
            select c.relname::text, d.col from pg_class c
            join distributed d on d.oid = coalesce(pg_partition_root(c.oid), c.oid)
            where c.relnamespace = 'huifang'::regnamespace and c.relkind in ('r', 'p')
            """)
        return Dictionary(try rows.map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)) }, uniquingKeysWith: { a, _ in a })
    }
}
