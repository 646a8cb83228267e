import Foundation
import Postgres

/// Loads a CSV file of one kind in a single transaction: COPY into a temporary staging table, one
/// set-based pass that finds every bad value (line, column, reason), then either applies all rows
/// or — unless told to skip invalid rows — nothing. Applying is an upsert on the natural key that
/// leaves identical rows untouched, so importing the same file again changes nothing.
public struct Importer: Sendable {
    public struct Reject: Sendable, Equatable {
        public var line: Int
        public var column: String
        public var reason: String
        public init(line: Int, column: String, reason: String) {
            self.line = line
            self.column = column
            self.reason = reason
        }
    }

    public struct Outcome: Sendable {
        public var kind: ImportSpec.Kind
        public var rows: Int
        public var inserted = 0
        public var updated = 0
        public var unchanged = 0
        /// Every bad value, by line; rows with any are not applied.
        public var rejects: [Reject] = []
        /// False when rejects stopped the whole file.
        public var applied = false
        public var rejectedRows: Int { Set(rejects.map(\.line)).count }
    }

    public enum ImportError: Error, CustomStringConvertible, Equatable {
        case emptyFile
        case unknownColumns([String], expected: [String])
        case missingColumns([String])
        case duplicateColumns([String])

        public var description: String {
            switch self {
            case .emptyFile: "the file has no header line"
            case .unknownColumns(let columns, let expected):
                "unknown column(s) \(columns.joined(separator: ", ")); this import takes \(expected.joined(separator: ", "))"
            case .missingColumns(let columns): "missing required column(s) \(columns.joined(separator: ", "))"
            case .duplicateColumns(let columns): "column(s) named twice: \(columns.joined(separator: ", "))"
            }
        }
    }

    public enum Phase: String, Sendable {
        case copying = "copy", validating = "validate", applying = "apply"
    }

    public let pool: Pool

    public init(pool: Pool) {
        self.pool = pool
    }

    /// Runs the import; `progress` sees each phase and, while copying, the bytes sent of the total.
    public func run(
        _ kind: ImportSpec.Kind, file: CSVFile, source: String, skipInvalid: Bool,
        progress: @escaping @Sendable (Phase, Int, Int) -> Void = { _, _, _ in }
    ) async throws -> Outcome {
        let spec = ImportSpec.spec(for: kind)
        let header = file.header.map { $0.trimmingCharacters(in: .whitespaces) }
        try Self.checkHeader(header, spec: spec)
        var outcome = Outcome(kind: kind, rows: file.records.count + file.structureErrors.count)
        outcome.rejects = file.structureErrors.map { Reject(line: $0.line, column: "", reason: $0.reason) }
        do {
            return try await pool.transaction { db in
                var outcome = outcome
                // Whole-file sorts and hashes stay in memory; times without an offset are Shanghai's.
                try await db.run(script: "set local timezone = 'Asia/Shanghai'; set local work_mem = '256MB'; set local jit = off")
                let columns = spec.columns.map { "\($0.name) text" }.joined(separator: ", ")
                try await db.run(
                    script: "create temp table import_staging (line int not null, \(columns), rejected boolean not null default false) on commit drop")
                let total = file.bytes.count
                progress(.copying, 0, total)
                try await db.copyIn(
                    "copy import_staging (line, \(header.joined(separator: ", "))) from stdin (format csv)"
                ) { writer in
                    try file.stream(write: { try writer.write(bytes: $0) }, progress: { progress(.copying, $0, total) })
                }
                try await db.run(script: "analyze import_staging")

                progress(.validating, 0, 0)
                try await db.run(script: Self.rejectsTable(spec))
                let rejects = try await db.query("select line, col, reason from import_rejects order by line, col")
                outcome.rejects += try rejects.map {
                    Reject(line: try $0.decode(0), column: try $0.decode(1), reason: try $0.decode(2))
                }
                outcome.rejects.sort { ($0.line, $0.column) < ($1.line, $1.column) }
                if !outcome.rejects.isEmpty && !skipInvalid { throw Stop(outcome: outcome) }

                progress(.applying, 0, 0)
                // Why any referrer changes, for the referrer history (Art 4).
                try await db.query("select set_config('huifang.reason', \("import of " + kind.rawValue + " file " + source), true)")
                if !outcome.rejects.isEmpty {
                    try await db.run(
                        script: "update import_staging set rejected = true where line in (select line from import_rejects)")
                }
                let applied = try await db.query(
                    "with applied (inserted) as (\(unescaped: spec.apply)) select count(*) filter (where inserted), count(*) filter (where not inserted) from applied"
                ).single()
                outcome.inserted = try applied.decode(0)
                outcome.updated = try applied.decode(1)
                outcome.unchanged = outcome.rows - outcome.rejectedRows - outcome.inserted - outcome.updated
                outcome.applied = true
                if let table = spec.referenceTable { try await db.run(script: "analyze \(table)") }
                try await db.query(
                    """
                    insert into huifang.audit_events (action, object_type, object_id, detail)
                    values ('import.applied', 'import', \(kind.rawValue),
                            jsonb_build_object('file', \(source)::text, 'rows', \(outcome.rows)::int, 'inserted', \(outcome.inserted)::int,
                                               'updated', \(outcome.updated)::int, 'rejected', \(outcome.rejectedRows)::int))
                    """)
                return outcome
            }
        } catch let stop as Stop {
            return stop.outcome
        }
    }

    /// Thrown inside the transaction to roll it back when rejects stop the file.
    private struct Stop: Error {
        var outcome: Outcome
    }

    static func checkHeader(_ header: [String], spec: ImportSpec) throws {
        guard !header.isEmpty, header != [""] else { throw ImportError.emptyFile }
        let known = spec.columns.map(\.name)
        let unknown = header.filter { !known.contains($0) }
        if !unknown.isEmpty { throw ImportError.unknownColumns(unknown, expected: known) }
        let duplicates = Dictionary(grouping: header, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        if !duplicates.isEmpty { throw ImportError.duplicateColumns(duplicates) }
        let missing = spec.requiredColumns.filter { !header.contains($0) }
        if !missing.isEmpty { throw ImportError.missingColumns(missing) }
    }

    /// `import_rejects (line, col, reason)`: every failed check, in one pass over the staging table.
    /// Values are trimmed once in an inner projection; each row yields its `col: reason` lines
    /// (none for a good row); duplicates of the file's key come from one hash aggregate.
    static func rejectsTable(_ spec: ImportSpec) -> String {
        var checks: [String] = []
        for column in spec.columns {
            let value = "s.\(column.name)"
            let check = column.check.map { $0.replacingOccurrences(of: "{v}", with: value) } ?? "null"
            let missing = column.required ? "'is required'" : "null"
            checks.append("'\(column.name): ' || case when \(value) is null then \(missing) else \(check) end")
        }
        for (column, reason) in spec.rowChecks {
            checks.append("'\(column): ' || \(reason)")
        }
        checks.append("'\(spec.fileKey.blame): repeats line ' || dup.first_line")
        let trimmed = spec.columns.map { "nullif(btrim(s.\($0.name)), '') as \($0.name)" }.joined(separator: ", ")
        let key = spec.fileKey.columns.map { "s.\($0)" }.joined(separator: ", ")
        let keyMatch = spec.fileKey.columns.map { "dup.\($0) = s.\($0)" }.joined(separator: " and ")
        return """
            create temp table import_rejects on commit drop as
            with trimmed as materialized (
                select s.line, \(trimmed) from import_staging s
            ), duplicates as (
                select \(key), min(s.line) as first_line from trimmed s group by \(key) having count(*) > 1
            )
            select q.line, split_part(p, ': ', 1) as col, substr(p, strpos(p, ': ') + 2) as reason
            from (
                select s.line, concat_ws(E'\\n',
                    \(checks.joined(separator: ",\n        "))
                ) as problems
                from trimmed s
                left join duplicates dup on \(keyMatch) and dup.first_line <> s.line
                \(spec.joins)
            ) q
            cross join lateral string_to_table(q.problems, E'\\n') p
            where q.problems <> ''
            """
    }
}
