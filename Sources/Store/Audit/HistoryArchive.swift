import Foundation
import Logging
import Postgres

/// The monthly partitions of the audit trail and the fired SLA stages (sql/0055) and the yearly ones
/// of callback records (sql/0060): created ahead by the workers, and detached and written to a file
/// by `huifang archive` once past the retention (records only when asked for by a date of their own).
public enum HistoryArchive {
    /// Months created ahead of the current one.
    public static let monthsAhead = 3

    /// Creates the months ahead that are missing, in the engine's scope; how many it created.
    @discardableResult
    public static func createPartitionsAhead(pool: Pool, months: Int = monthsAhead) async throws -> Int {
        try await pool.transaction(settings: SLAEngine.settings) {
            try await $0.query("select huifang.create_history_partitions(\(months))").single().decode(0)
        }
    }

    public struct Archived: Sendable {
        /// The tables written to the file and dropped, e.g. `audit_events_2016_01`, `records_2016`.
        public var tables: [String]
        public var auditEvents: Int
        public var slaEvents: Int
        /// Records, and their signatures and findings, which leave with them.
        public var records: Int = 0
        public var recordSignatures: Int = 0
        public var recordFindings: Int = 0
    }

    /// What still points at the records of a year that was to be archived.
    public struct RecordsStillReferenced: Error, CustomStringConvertible, Sendable {
        public var year: Int
        /// Table and how many of its rows, e.g. `("callback_tasks", 1200)`.
        public var references: [(table: String, rows: Int)]

        public var description: String {
            "the records of \(year) cannot be archived: "
                + references.map { "\($0.rows) row(s) of huifang.\($0.table)" }.joined(separator: ", ")
                + " still point at them (they stay in the database, and so do the records; nothing was archived)"
        }
    }

    /// The tables that point at records and are not archived with them: they must no longer point
    /// into a year before it leaves. (Signatures and findings belong to their record and leave with it.)
    static let recordReferrers: [(table: String, column: String)] = [
        ("callback_tasks", "record_created_at"), ("problems", "record_created_at"), ("client_profiles", "record_created_at"),
        ("records", "amends_created_at"),
    ]

    /// Detaches every month of `audit_events` and `sla_events` that ends by `before` (UTC), writes
    /// them to `file` with `pg_dump` (plain SQL: `psql -f` restores each as a table of its own), and
    /// drops them. For each audit chain the last event archived (seq and hash) is kept in
    /// `audit_archived_heads`, so the chain stays verifiable from the first event left. The run is
    /// recorded in the audit trail. Months detached by an earlier run that failed before it dropped
    /// them are written and dropped too. As the owner.
    ///
    /// With `recordsBefore`, every UTC year of `records` that ends by it goes too, with its records'
    /// signatures and findings (copied into `record_signatures_YYYY` and `record_findings_YYYY`) —
    /// only when no task, problem, client profile or later amendment still points at one of its
    /// records; otherwise nothing at all is archived (`RecordsStillReferenced` names what points).
    public static func archive(
        before: PostgresDate, recordsBefore: PostgresDate? = nil, to file: URL, owner: ConnectionConfiguration, logger: Logger
    ) async throws -> Archived {
        let pending = try await Pool.withPool(owner, size: 1, logger: logger) { pool in
            try await pool.transaction { db -> [String] in
                if let recordsBefore { try await detachRecordYears(endingBy: recordsBefore, db) }
                let months = try await db.query(
                    """
                    select c.relname, p.relname from pg_inherits i
                    join pg_class c on c.oid = i.inhrelid
                    join pg_class p on p.oid = i.inhparent
                    where p.relnamespace = 'huifang'::regnamespace and p.relname in ('audit_events', 'sla_events')
                      and c.relname ~ '_[0-9]{4}_[0-9]{2}$'
                      and to_date(right(c.relname, 7), 'YYYY_MM') + interval '1 month' <= \(before)::date
                    order by c.relname
                    """
                ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)) }
                for (table, parent) in months {
                    if parent == "audit_events" {
                        try await db.query(
                            """
                            insert into huifang.audit_archived_heads (chain, seq, hash, partition, events, file)
                            select distinct on (chain) chain, seq, hash, \(table), count(*) over (partition by chain), \(file.path)
                            from \(unescaped: "huifang." + table) order by chain, seq desc
                            """)
                    }
                    try await db.run(script: "alter table huifang.\(parent) detach partition huifang.\(table)")
                }
                // Detached now or by an earlier run: standalone tables named as months are. Their
                // foreign keys and triggers point into this database; the archive stands alone.
                let detached = try await db.query(
                    """
                    select c.relname from pg_class c
                    where c.relnamespace = 'huifang'::regnamespace and c.relkind = 'r' and not c.relispartition
                      and (c.relname ~ '^(audit_events|sla_events)_[0-9]{4}_[0-9]{2}$'
                           or c.relname ~ '^(records|record_signatures|record_findings)_[0-9]{4}$')
                    order by 1
                    """
                ).map { try $0.decode(0, as: String.self) }
                for table in detached {
                    let foreignKeys = try await db.query(
                        // The top ones: dropping a year's self-reference (amends_id) drops what it still holds of the other years.
                        "select conname from pg_constraint where conrelid = \(("huifang." + table))::regclass and contype = 'f' and conparentid = 0"
                    ).map { try $0.decode(0, as: String.self) }
                    for key in foreignKeys { try await db.run(script: "alter table huifang.\(table) drop constraint \(key)") }
                    let triggers = try await db.query(
                        "select tgname from pg_trigger where tgrelid = \(("huifang." + table))::regclass and not tgisinternal"
                    ).map { try $0.decode(0, as: String.self) }
                    for trigger in triggers { try await db.run(script: "drop trigger \(trigger) on huifang.\(table)") }
                }
                return detached
            }
        }
        guard !pending.isEmpty else { return Archived(tables: [], auditEvents: 0, slaEvents: 0) }

        let dump = try EmbeddedCluster.toolPath("pg_dump")
        let result = try ChildProcess.run(
            "/usr/bin/env",
            owner.toolEnvironment() + [dump, "--dbname=\(owner.conninfo)", "--no-owner", "--no-privileges", "--file=\(file.path)"]
                + pending.map { "--table=huifang.\($0)" })
        guard result.status == 0, (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0 > 0 else {
            throw StoreError.archiveFailed(
                "pg_dump failed (the months stay detached in the database; run again): \(result.output)")
        }

        return try await Pool.withPool(owner, size: 1, logger: logger) { pool in
            try await pool.transaction { db -> Archived in
                var archived = Archived(tables: pending, auditEvents: 0, slaEvents: 0)
                for table in pending {
                    let count = try await db.query("select count(*)::int from \(unescaped: "huifang." + table)").single().decode(0, as: Int.self)
                    switch table {
                    case _ where table.hasPrefix("audit_events"): archived.auditEvents += count
                    case _ where table.hasPrefix("sla_events"): archived.slaEvents += count
                    case _ where table.hasPrefix("record_signatures"): archived.recordSignatures += count
                    case _ where table.hasPrefix("record_findings"): archived.recordFindings += count
                    default: archived.records += count
                    }
                    try await db.run(script: "drop table huifang.\(table)")
                }
                try await db.query(
                    """
                    insert into huifang.audit_events (action, object_type, object_id, detail)
                    values ('history.archived', 'history', \(file.path),
                            jsonb_build_object('before', \(before.description)::text, 'recordsBefore', \(recordsBefore?.description)::text,
                                               'tables', \(pending)::text[],
                                               'auditEvents', \(archived.auditEvents)::int, 'slaEvents', \(archived.slaEvents)::int,
                                               'records', \(archived.records)::int, 'recordSignatures', \(archived.recordSignatures)::int,
                                               'recordFindings', \(archived.recordFindings)::int))
                    """)
                return archived
            }
        }
    }

    /// Detaches each year of `records` that ends by `recordsBefore`, after moving its records'
    /// signatures and findings into tables of that year beside it. Refuses (throws, the transaction
    /// rolls back) when anything kept still points at one of the year's records. PostgreSQL checks
    /// the same when the partition is detached; this names every table at once, in people's terms.
    static func detachRecordYears(endingBy recordsBefore: PostgresDate, _ db: Connection) async throws {
        let years: [(table: String, year: Int)] = try await db.query(
            """
            select c.relname, right(c.relname, 4)::int from pg_inherits i
            join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'huifang.records'::regclass and c.relname ~ '^records_[0-9]{4}$'
              and make_date(right(c.relname, 4)::int + 1, 1, 1) <= \(recordsBefore)::date
            order by c.relname
            """
        ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self)) }
        guard !years.isEmpty else { return }
        let last = years.last!.year
        // The archived years' own rows (an amendment made in an archived year) leave together.
        let keptFrom = "make_date(\(last + 1), 1, 1)::timestamp at time zone 'UTC'"
        // Newest first: PostgreSQL checks a detached year against the years still attached.
        for (table, year) in years.reversed() {
            let from = "make_date(\(year), 1, 1)::timestamp at time zone 'UTC'"
            let to = "make_date(\(year + 1), 1, 1)::timestamp at time zone 'UTC'"
            var references: [(table: String, rows: Int)] = []
            for (referrer, column) in recordReferrers {
                let keptOnly = referrer == "records" ? " and created_at >= \(keptFrom)" : ""
                let rows: Int = try await db.query(
                    """
                    select count(*)::int from \(unescaped: "huifang." + referrer)
                    where \(unescaped: column) >= \(unescaped: from) and \(unescaped: column) < \(unescaped: to)\(unescaped: keptOnly)
                    """
                ).single().decode(0)
                if rows > 0 { references.append((referrer, rows)) }
            }
            guard references.isEmpty else { throw RecordsStillReferenced(year: year, references: references) }
            for child in ["record_signatures", "record_findings"] {
                let copy = "huifang.\(child)_\(year)"
                try await db.run(script: """
                    create table \(copy) as
                    select * from huifang.\(child) where record_created_at >= \(from) and record_created_at < \(to);
                    """)
            }
            // A signature is never deleted by anyone else: the trigger that says so steps aside for
            // this transaction only (ALTER TABLE is transactional; signing waits until it ends).
            try await db.run(script: """
                alter table huifang.record_signatures disable trigger record_signatures_no_change;
                delete from huifang.record_signatures where record_created_at >= \(from) and record_created_at < \(to);
                alter table huifang.record_signatures enable trigger record_signatures_no_change;
                delete from huifang.record_findings where record_created_at >= \(from) and record_created_at < \(to);
                delete from huifang.record_keys where created_at >= \(from) and created_at < \(to);
                alter table huifang.records detach partition huifang.\(table);
                """)
        }
    }
}
