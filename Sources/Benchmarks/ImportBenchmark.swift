import Foundation
import Logging
import Postgres
import Store
import Synchronization

/// `huifang import clients` against `psql \copy` of the same file into an unconstrained table of
/// text columns, on the same server in one run, in a scratch database.
public struct ImportBenchmark: Sendable {
    var rows: Int
    var branches: Int

    static let scratchDatabase = "huifang_bench_import"

    public init(rows: Int, branches: Int) {
        self.rows = rows
        self.branches = branches
    }

    /// The generated files of one run, in a temporary directory of their own.
    public struct Files: Sendable {
        var branches: URL
        var clients: URL
        var size: Int
    }

    /// Generates the branch and client files for `body` (before any database is started, so the
    /// timings do not share the machine with it) and removes them afterwards.
    public func withFiles<T>(_ body: (Files) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("huifang-bench-import-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let branchFile = directory.appendingPathComponent("branches.csv")
        let clientFile = directory.appendingPathComponent("clients.csv")
        try writeBranches(to: branchFile)
        try writeClients(to: clientFile)
        let size = (try FileManager.default.attributesOfItem(atPath: clientFile.path)[.size] as? Int) ?? 0
        FileHandle.standardError.write(Data("  generated \(rows) client rows (\(size / 1_000_000) MB)\n".utf8))
        return try await body(Files(branches: branchFile, clients: clientFile, size: size))
    }

    /// Runs both sides on scratch databases beside the one `owner` and `application` connect to, and prints the figures.
    public func run(_ files: Files, owner: ConnectionConfiguration, application: ConnectionConfiguration, logger: Logger) async throws {
        let branchFile = files.branches, clientFile = files.clients, size = files.size
        // Each side gets a new migrated scratch database with the branches imported, so the
        // import starts as empty as the baseline did (the records tables refuse TRUNCATE).
        func scratch<T>(_ body: (Pool) async throws -> T) async throws -> T {
            try await withScratchDatabase(Self.scratchDatabase, owner: owner, application: application, logger: logger) { owner, _ in
                try await Pool.withPool(owner, logger: logger) { pool in
                    _ = try await Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: pool.logger).migrate()
                    _ = try await Importer(pool: pool).run(
                        .branches, file: try CSVFile(contentsOf: branchFile), source: "branches.csv", skipInvalid: false)
                    try await pool.withConnection { try await $0.run(script: "checkpoint") }
                    return try await body(pool)
                }
            }
        }
        let (copySeconds, floorSeconds) = try await scratch { pool in
            try await baseline(pool, conninfo: owner.conninfo, clientFile: clientFile)
        }
        let (importSeconds, phases) = try await scratch { pool in try await importClients(pool, clientFile: clientFile) }
        // The import applies rows in key order; this floor gets them in that order too, to show
        // how much of the import's rate is that order rather than less work.
        let sortedFloorSeconds = try await scratch { pool in
            try await copyIntoClients(pool, conninfo: owner.conninfo, file: Self.byIdFile(clientFile, sorted: true))
        }
        let copyRate = Double(rows) / copySeconds
        let importRate = Double(rows) / importSeconds
        let floorRate = Double(rows) / floorSeconds
        let sortedFloorRate = Double(rows) / sortedFloorSeconds
        print("import: \(rows) client rows, \(size / 1_000_000) MB, \(branches) branches")
        print(String(format: "  psql \\copy into a bare text table  %9.0f rows/s  (%.1f s)", copyRate, copySeconds))
        print(String(format: "  psql \\copy into huifang.clients   %9.0f rows/s  (%.1f s; the target table's floor)", floorRate, floorSeconds))
        print(String(format: "    the same, rows in key order      %9.0f rows/s  (%.1f s)", sortedFloorRate, sortedFloorSeconds))
        print(String(format: "  huifang import clients             %9.0f rows/s  (%.1f s)", importRate, importSeconds))
        print(String(format: "  ratio to psql \\copy                %9.2f  (goal ≥ 0.50)", importRate / copyRate))
        print(String(format: "  ratio to the target table's floor  %9.2f  (goal ≥ 0.80)", importRate / floorRate))
        print(String(format: "    to that floor in key order       %9.2f", importRate / sortedFloorRate))
        print("  import phases: " + phases)
    }

    /// The client rows naming branches by id, as the table does: in the file's order, or in the
    /// order of the table's key (branch, client number), the order the import applies them in.
    static func byIdFile(_ clientFile: URL, sorted: Bool) -> URL {
        clientFile.deletingLastPathComponent().appendingPathComponent(sorted ? "clients-by-branch-id-sorted.csv" : "clients-by-branch-id.csv")
    }

    /// psql `\copy` of the file into a bare text table; then, as the target table's floor (issue 23),
    /// psql `\copy` of the same rows straight into huifang.clients — its keys, indexes, checks,
    /// foreign keys and triggers — from a copy of the file that names branches by id, as the table
    /// does: no staging, no validation pass, no upsert. Seconds of each. It writes that copy in key
    /// order too (`byIdFile(sorted: true)`), for the floor a later scratch database measures.
    private func baseline(_ pool: Pool, conninfo: String, clientFile: URL) async throws -> (Double, Double) {
        try await pool.query(
            """
            create table bench_copy (branch_code text, client_no text, name text, id_type text, id_number text,
                                     phone text, opened_at text, referrer_employee_no text, referrer_agent_no text)
            """)
        let copyStart = ContinuousClock.now
        try psql(conninfo: conninfo, "\\copy bench_copy from '\(clientFile.path)' (format csv, header true)")
        let copySeconds = seconds(ContinuousClock.now - copyStart)
        for sorted in [false, true] {
            try psql(
                conninfo: conninfo,
                "\\copy (select b.id, c.client_no, c.name, c.id_type, c.id_number, c.phone, c.opened_at "
                    + "from bench_copy c join huifang.branches b on b.code = c.branch_code"
                    + (sorted ? " order by b.id, c.client_no" : "")
                    + ") to '\(Self.byIdFile(clientFile, sorted: sorted).path)' (format csv, header true)")
        }
        try await pool.withConnection { try await $0.run(script: "checkpoint") }
        return (copySeconds, try await copyIntoClients(pool, conninfo: conninfo, file: Self.byIdFile(clientFile, sorted: false)))
    }

    /// psql `\copy` of a by-id file straight into huifang.clients: seconds.
    private func copyIntoClients(_ pool: Pool, conninfo: String, file: URL) async throws -> Double {
        let start = ContinuousClock.now
        try psql(
            conninfo: conninfo,
            "\\copy huifang.clients (branch_id, client_no, name, id_type, id_number, phone, opened_at) from '\(file.path)' (format csv, header true)")
        return seconds(ContinuousClock.now - start)
    }

    /// `huifang import clients` of the file: seconds, and the time of each phase.
    private func importClients(_ pool: Pool, clientFile: URL) async throws -> (Double, String) {
        let importStart = ContinuousClock.now
        let phases = PhaseClock()
        let scanned = try CSVFile(contentsOf: clientFile)
        phases.mark("scan")
        let outcome = try await Importer(pool: pool).run(
            .clients, file: scanned, source: "clients.csv", skipInvalid: false,
            progress: { phase, done, total in if done == 0 { phases.mark(phase.rawValue) } })
        phases.mark("commit")
        let importSeconds = seconds(ContinuousClock.now - importStart)
        guard outcome.applied, outcome.inserted == rows else {
            throw BenchmarkError("the import applied \(outcome.inserted) of \(rows) rows; rejects: \(outcome.rejects.prefix(3))")
        }
        return (importSeconds, phases.summary())
    }

    /// One psql meta-command (a `\copy`) in the scratch database.
    private func psql(conninfo: String, _ command: String) throws {
        let (status, output) = try ChildProcess.run(
            try EmbeddedCluster.toolPath("psql"),
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", "\\connect \(Self.scratchDatabase)",
                "-c", command,
            ])
        guard status == 0 else { throw BenchmarkError("psql \\copy failed:\n\(output)") }
    }

    private func writeBranches(to url: URL) throws {
        var text = "code,name,region\n"
        for branch in 1...branches { text += "B\(branch),营业部\(branch),华东\n" }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Realistic rows: a Chinese name, a passport-style number, a mobile number, an opening time.
    private func writeClients(to url: URL) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
        let given = Array("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂")
        var buffer = "branch_code,client_no,name,id_type,id_number,phone,opened_at,referrer_employee_no,referrer_agent_no\n"
        for n in 1...rows {
            let name = "\(surnames[n % surnames.count])\(given[(n / 7) % given.count])\(given[(n / 3) % given.count])"
            let day = 1 + n % 28
            let month = 1 + n % 12
            let date = "2025-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
            buffer += "B\(1 + n % branches),C\(n),\(name),passport,E\(10_000_000 + n),139\(10_000_000 + n % 90_000_000),\(date) 09:30,,\n"
            if buffer.utf8.count > 1 << 20 {
                handle.write(Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer.utf8))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Wall-clock time per phase, from the moments each one begins.
final class PhaseClock: Sendable {
    private let marks = Mutex<[(String, ContinuousClock.Instant)]>([("start", .now)])

    func mark(_ name: String) {
        marks.withLock { $0.append((name, .now)) }
    }

    /// "scan 0.3 s, copy 1.2 s, …": each phase's name with the time until the next mark.
    func summary() -> String {
        marks.withLock { marks in
            zip(marks, marks.dropFirst()).map { previous, next in
                let elapsed = next.1 - previous.1
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                return String(format: "%@ %.1f s", previous.0 == "start" ? "scan" : previous.0 == "scan" ? "setup" : previous.0, seconds)
            }.joined(separator: ", ")
        }
    }
}
