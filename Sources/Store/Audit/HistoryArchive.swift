import Foundation
import Logging
import Postgres

/// The monthly partitions of the audit trail and the fired SLA stages (sql/0055): created ahead by
/// the workers, and detached and written to a file by `huifang archive` once past the retention.
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
        /// The tables written to the file and dropped, e.g. `audit_events_2016_01`.
        public var tables: [String]
        public var auditEvents: Int
        public var slaEvents: Int
    }

    /// Detaches every month of `audit_events` and `sla_events` that ends by `before` (UTC), writes
    /// them to `file` with `pg_dump` (plain SQL: `psql -f` restores each as a table of its own), and
    /// drops them. For each audit chain the last event archived (seq and hash) is kept in
    /// `audit_archived_heads`, so the chain stays verifiable from the first event left. The run is
    /// recorded in the audit trail. Months detached by an earlier run that failed before it dropped
    /// them are written and dropped too. As the owner.
    public static func archive(before: PostgresDate, to file: URL, owner: ConnectionConfiguration, logger: Logger) async throws -> Archived {
        let pending = try await Pool.withPool(owner, size: 1, logger: logger) { pool in
            try await pool.transaction { db -> [String] in
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
                      and c.relname ~ '^(audit_events|sla_events)_[0-9]{4}_[0-9]{2}$'
                    order by 1
                    """
                ).map { try $0.decode(0, as: String.self) }
                for table in detached {
                    let foreignKeys = try await db.query(
                        "select conname from pg_constraint where conrelid = \(("huifang." + table))::regclass and contype = 'f'"
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
                    if table.hasPrefix("audit_events") { archived.auditEvents += count } else { archived.slaEvents += count }
                    try await db.run(script: "drop table huifang.\(table)")
                }
                try await db.query(
                    """
                    insert into huifang.audit_events (action, object_type, object_id, detail)
                    values ('history.archived', 'history', \(file.path),
                            jsonb_build_object('before', \(before.description)::text, 'tables', \(pending)::text[],
                                               'auditEvents', \(archived.auditEvents)::int, 'slaEvents', \(archived.slaEvents)::int))
                    """)
                return archived
            }
        }
    }
}
