import ArgumentParser
import Foundation
import Logging
import Postgres
import Store

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The tamper-evident audit trail.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the audit hash chains and report the first broken link of each (exit 1 when one is broken).",
            discussion: """
                Each branch has a chain, and organization-wide events another. An event whose content no longer \
                matches its hash, that does not name its predecessor's hash, or after which events are missing, \
                breaks its chain. Deleting the newest events of a chain leaves no trace inside it: keep the reported \
                event counts somewhere else to catch that.
                """)

        @Option(help: "Only this branch's chain (its code).") var branch: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            var logger = Logger(label: "huifang.audit")
            logger.logLevel = .warning
            let reports = try await database.withDatabase(logger: logger) { environment in
                try await environment.withOwnerPool(logger: logger) { pool in
                    try await pool.transaction(readOnly: true) { db -> [AuditChain.Report] in
                        var branchId: Int?
                        if let branch {
                            guard let id: Int = try await db.query("select id from huifang.branches where code = \(branch)").first?.decode(0)
                            else { throw CLIError("there is no branch \(branch)") }
                            branchId = id
                        }
                        return try await AuditChain(db).verify(branchId: branchId)
                    }
                }
            }
            var intact = true
            for report in reports {
                let name = report.branchCode.map { "branch \($0)" } ?? "organization"
                if let broken = report.broken {
                    intact = false
                    print("\(name): BROKEN at event #\(broken.seq) (id \(broken.id)): \(broken.reason); \(report.events) events")
                } else {
                    print("\(name): intact, \(report.events) events")
                }
            }
            if reports.isEmpty { print("no audit events") }
            if !intact { throw ExitCode(1) }
        }
    }
}
