import ArgumentParser
import Foundation
import Logging
import Postgres
import Store
import Synchronization

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load a UTF-8 CSV file (with a header line) of one kind: all rows or none.",
        discussion: """
            Kinds and columns (optional ones in brackets):
              branches     code,name,region[,status,dormant_after_days,core_min_assets,core_top_n]
              departments  code,name,kind[,status]
              staff        employee_no,name,branch_code|department_code[,phone,email,status]
              brokers      branch_code,agent_no,name[,phone,employee_no,status,registered_on]
              clients      branch_code,client_no,name,id_type,id_number,opened_at[,phone,status,closed_at,referrer_employee_no,referrer_agent_no]
              assets       branch_code,client_no,as_of,total_assets[,last_trade_date]
            Every row is checked first; any bad row stops the whole file (each is listed by line and column)
            unless --skip-invalid, which applies the good rows and writes the bad ones to --rejects.
            Rows are matched on their natural key, so importing the same file twice changes nothing.
            Times without an offset are Asia/Shanghai.
            """)

    @Argument(help: "branches, departments, staff, brokers, clients or assets.") var kind: String
    @Argument(help: "The CSV file.") var file: String
    @Flag(help: "Apply the valid rows and write the invalid ones to --rejects.") var skipInvalid = false
    @Option(help: "Where --skip-invalid writes rejected rows (default: FILE.rejects.csv).") var rejects: String?
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        guard let kind = ImportSpec.Kind(rawValue: kind) else {
            throw CLIError("unknown kind \(self.kind); one of \(ImportSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let url = URL(fileURLWithPath: file)
        guard FileManager.default.isReadableFile(atPath: url.path) else { throw CLIError("cannot read \(file)") }
        let csv = try CSVFile(contentsOf: url)
        var logger = Logger(label: "huifang.import")
        logger.logLevel = .warning
        let outcome = try await database.withDatabase(logger: logger) { environment in
            _ = try await environment.migrate(logger: logger)
            let meter = ImportProgressMeter(records: csv.records.count)
            return try await environment.withOwnerPool(logger: logger) { pool in
                do {
                    let outcome = try await Importer(pool: pool).run(
                        kind, file: csv, source: url.lastPathComponent, skipInvalid: skipInvalid, progress: meter.update)
                    meter.finish()
                    return outcome
                } catch let error as Importer.ImportError {
                    meter.finish()
                    throw CLIError("\(file): \(error)")
                }
            }
        }
        try report(outcome, csv: csv)
    }

    private func report(_ outcome: Importer.Outcome, csv: CSVFile) throws {
        let shown = outcome.rejects.prefix(50)
        for reject in shown {
            let column = reject.column.isEmpty ? "" : ", column \(reject.column)"
            print("line \(reject.line)\(column): \(reject.reason)")
        }
        if outcome.rejects.count > shown.count {
            print("… and \(outcome.rejects.count - shown.count) more problem(s)")
        }
        if !outcome.applied {
            throw CLIError(
                "\(file): \(outcome.rejectedRows) of \(outcome.rows) row(s) are invalid; nothing was imported "
                    + "(fix them, or use --skip-invalid to import the rest)")
        }
        if outcome.rejectedRows > 0 {
            let path = rejects ?? file + ".rejects.csv"
            try writeRejects(outcome, csv: csv, to: path)
            print("\(outcome.rejectedRows) invalid row(s) skipped; written to \(path)")
        }
        print(
            "\(outcome.kind.rawValue): \(outcome.rows) row(s): \(outcome.inserted) inserted, \(outcome.updated) updated, "
                + "\(outcome.unchanged) unchanged, \(outcome.rejectedRows) rejected")
    }

    /// The rejected rows as they were, plus their line and every reason.
    private func writeRejects(_ outcome: Importer.Outcome, csv: CSVFile, to path: String) throws {
        let reasons = Dictionary(grouping: outcome.rejects, by: \.line).mapValues { rejects in
            rejects.map { $0.column.isEmpty ? $0.reason : "\($0.column): \($0.reason)" }.joined(separator: "; ")
        }
        var text = CSVLine.render(csv.header + ["line", "reason"]) + "\n"
        let byLine = Dictionary(uniqueKeysWithValues: csv.records.map { ($0.line, $0) })
        for line in reasons.keys.sorted() {
            let fields = byLine[line].map { csv.fields(of: $0) } ?? Array(repeating: "", count: csv.header.count)
            text += CSVLine.render(fields + [String(line), reasons[line]!]) + "\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Progress on a terminal (stderr): bytes and rows per second with an ETA while copying, then the
/// phases. Silent when stderr is not a terminal.
final class ImportProgressMeter: Sendable {
    private let records: Int
    private let started = ContinuousClock.now
    private let enabled = isatty(STDERR_FILENO) == 1
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(records: Int) {
        self.records = records
    }

    func update(_ phase: Importer.Phase, _ done: Int, _ total: Int) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if let previous = last, now - previous < .milliseconds(200), phase == .copying, done < total { return false }
            last = now
            return true
        }
        guard due else { return }
        let elapsed = now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var line: String
        switch phase {
        case .copying where total > 0:
            let fraction = Double(done) / Double(total)
            let rows = Double(records) * fraction
            let rate = seconds > 0 ? rows / seconds : 0
            let eta = fraction > 0 ? seconds / fraction - seconds : 0
            line = String(
                format: "copy  %5.1f%%  %.0f rows  %.0f rows/s  %.1f MB of %.1f MB  ETA %.0f s", fraction * 100, rows, rate,
                Double(done) / 1e6, Double(total) / 1e6, eta)
        default:
            line = String(format: "%@ … (%.1f s)", phase.rawValue, seconds)
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
