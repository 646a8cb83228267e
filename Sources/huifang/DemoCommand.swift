import ArgumentParser
import DemoData
import Domain
import Foundation
import HummingbirdBcrypt
import Logging
import Postgres
import Server
import Store

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start Huifang with its own PostgreSQL and a demo organization, and serve the API (Ctrl-C stops both).",
        discussion: """
            The first run loads a generated organization — HQ departments, branches with staff in every role, \
            brokers, clients with referrers and asset snapshots — and every later run reuses it. \
            The benchmark data set of `huifang bench monitoring`: `huifang demo --branches 350 --clients 1000000 \
            --records 5000000 --open-problems 100000 --running-clocks 1000000 --load-only --data-dir …` \
            (the three volumes top up an existing database too).
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Branches to generate (first run only).") var branches = 20
    @Option(help: "Clients to generate (first run only).") var clients = 20_000
    @Option(help: "Seed of the generated data; the same seed gives the same data.") var seed: UInt64 = 20_261_125
    @Option(help: "Top the callback records up to at least this many, over the --history-years before the demo year.")
    var records = 0
    @Option(help: "The years before the demo year that --records spreads over (ten years of history: 10).")
    var historyYears = 5
    @Option(help: "Top the open problems up to at least this many, raised over the last six weeks.") var openProblems = 0
    @Option(help: "Top the running SLA clocks up to at least this many, with an HQ special-callback campaign.")
    var runningClocks = 0
    @Flag(help: "Load the demo data and exit without serving.") var loadOnly = false
    @OptionGroup var delivery: DeliveryOptions
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard branches > 0, clients >= 0 else { throw ValidationError("--branches must be positive and --clients not negative") }
        guard (1...30).contains(historyYears) else { throw ValidationError("--history-years must be from 1 to 30") }
        guard records >= 0, openProblems >= 0, runningClocks >= 0 else {
            throw ValidationError("--records, --open-problems and --running-clocks must not be negative")
        }
    }

    /// Which demo login opens which console page, in the order of a problem's loop.
    static func consoleGuide(base: String, logins: [DemoData.Login]) -> String {
        func login(_ role: Role) -> String {
            guard let login = logins.first(where: { $0.role == role }) else { return "(none)" }
            return "\(login.employeeNo)  \(login.name) (\(login.scope))"
        }
        let pages: [(String, Role)] = [
            ("我的工作 · 回访任务 · 记录 · 提出问题   (My work, callbacks, findings)", .responsiblePerson),
            ("会签记录 · 审批问题                     (countersign, approve)", .opsDirector),
            ("总部受理队列 · 转办 · 反馈               (HQ triage, forward, relay)", .brokerageOpsCenter),
            ("职能部门转办收件箱                       (functional dept inbox)", .functionalDept),
            ("监控 · SLA · 客户档案 · 审计             (monitoring, SLA, audit)", .auditor),
        ]
        var guide = "\nConsole (password \"\(DemoData.password)\"): \(base)/console\n"
        for (page, role) in pages { guide += "  \(page)\n      \(login(role))\n" }
        return guide
    }

    func run() async throws {
        let logger = Logger(label: "huifang")
        try await database.withDatabase(logger: logger) { environment in
            _ = try await environment.migrate(logger: logger)
            let logins = try await environment.withOwnerPool(logger: logger) { pool in
                if try await DemoData.isLoaded(pool) {
                    print("Demo data: using the organization already in the database.")
                } else {
                    print("Demo data: generating \(branches) branches and \(clients) clients …")
                    fflush(nil)
                    let hash = Bcrypt.hash(DemoData.password, cost: AppConfiguration.defaultBcryptCost)
                    let demo = DemoData(branches: branches, clients: clients, seed: seed)
                    let report: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("  \($0)\n".utf8)) }
                    let events = try await demo.loadDemo(into: pool, passwordHash: hash, progress: report)
                    print("Demo data: \(events.events) client events from the core system created \(events.specialCallbacks) special callbacks.")
                }
                let volume = DemoData.Volume(
                    records: records, openProblems: openProblems, runningClocks: runningClocks, historyYears: historyYears)
                if !volume.isEmpty {
                    print("Demo data: topping up to \(records) records, \(openProblems) open problems, \(runningClocks) running clocks …")
                    fflush(nil)
                    let report: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("  \($0)\n".utf8)) }
                    try await DemoData(seed: seed).loadVolume(volume, into: pool, progress: report)
                }
                return try await DemoData.logins(pool)
            }
            var banner = "\nDemo logins (password \"\(DemoData.password)\"):\n"
            for login in logins {
                banner += "  \(login.employeeNo.padding(toLength: 16, withPad: " ", startingAt: 0)) \(login.role.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)) \(login.name)  (\(login.scope))\n"
            }
            if loadOnly {
                print(banner)
                return
            }
            let where_ = environment.cluster.map { "embedded PostgreSQL in \($0.dataDirectory.path)" } ?? "DATABASE_URL"
            let base = "http://\(host):\(port)"
            banner += Self.consoleGuide(base: base, logins: logins)
            banner += """

                Huifang is running (\(where_)).
                  health:   \(base)/health
                  metrics:  \(base)/metrics
                  API:      \(base)/openapi.yaml
                  sign in:  curl -s -XPOST \(base)/sessions -H 'content-type: application/json' \\
                              -d '{"employeeNo":"\(logins.first?.employeeNo ?? "…")","password":"\(DemoData.password)"}'
                Press Ctrl-C to stop.

                """
            try await serve(
                environment, host: host, port: port, migrate: false, poolSize: database.poolSize,
                deliveryWorkers: try delivery.configuration(), logger: logger, banner: banner)
        }
    }
}
