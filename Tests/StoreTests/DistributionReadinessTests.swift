import Postgres
import Testing
import TestSupport

/// Issue 22, part 5: the schema stays ready for a distributed engine (Citus, distribution column
/// `branch_id`; calendars, departments, staff, rules and forms as reference tables). Citus refuses
/// a unique constraint without the distribution column and a foreign key between distributed
/// tables that does not join on it; a reference table may not point at a distributed one.
/// docs/scaling.md has the plan.
@Suite("Ready for a table distributed by branch")
struct DistributionReadinessTests {
    /// Tables that would be distributed: a `branch_id` that is never null.
    static let distributed = DistributedTables.byBranch

    /// Tables with a nullable `branch_id`, and what each becomes on a distributed cluster. Checked
    /// both ways, so a new one needs a decision here.
    static let nullableBranch: [String: String] = [
        // Organization-wide events have no branch: distributed by `chain` (the branch, or 0), which is
        // never null and leads its keys; reads by branch name the chain.
        "audit_events": "distributed by chain",
        // Grants of HQ roles name a department, not a branch; 15,000 staff, a few grants each: reference.
        "role_grants": "reference table",
        // Channels of HQ departments name no branch; a few thousand rows: reference.
        "delivery_channels": "reference table",
    ]

    /// Foreign keys from a table that would not be distributed by `branch_id` to one that would.
    static let referenceToBranch: [String: String] = [
        // Deliveries carry the daily digests too, which belong to no notification, so the branch is
        // nullable. Before distributing: give a digest's deliveries its recipient's branch (0 for
        // HQ) and distribute deliveries by notification_branch_id, co-located with notifications.
        "deliveries_notification_branch_id_notification_id_fkey": "deliveries: co-locate once digests name a branch",
    ]

    @Test func everyUniqueKeyOfABranchTableIncludesBranchId() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let rows = try await pool.query(
                    """
                    select c.relname, i.relname from pg_index x
                    join pg_class c on c.oid = x.indrelid
                    join pg_class i on i.oid = x.indexrelid
                    join pg_attribute b on b.attrelid = c.oid and b.attname = 'branch_id'
                    where x.indrelid in (\(Self.distributed)) and x.indisunique and not b.attnum = any (x.indkey)
                    order by 1, 2
                    """)
                let missing = try rows.map { "\(try $0.decode(0, as: String.self)).\(try $0.decode(1, as: String.self))" }
                #expect(missing.isEmpty, "unique keys without branch_id: \(missing)")
                let tables = try await pool.query("select count(*)::int from (\(Self.distributed)) t").single().decode(0, as: Int.self)
                #expect(tables >= 30, "the query finds the branch tables")
            }
        }
    }

    @Test func everyForeignKeyBetweenBranchTablesJoinsOnBranchId() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let rows = try await pool.query(
                    """
                    select f.conname, f.conrelid::regclass::text from pg_constraint f
                    join pg_attribute b on b.attrelid = f.conrelid and b.attname = 'branch_id'
                    join pg_attribute rb on rb.attrelid = f.confrelid and rb.attname = 'branch_id'
                    where f.contype = 'f' and f.conparentid = 0 and f.conrelid in (\(Self.distributed)) and f.confrelid in (\(Self.distributed))
                      and not exists (select from generate_subscripts(f.conkey, 1) k
                                      where f.conkey[k] = b.attnum and f.confkey[k] = rb.attnum)
                    order by 2, 1
                    """)
                let missing = try rows.map { "\(try $0.decode(1, as: String.self)).\(try $0.decode(0, as: String.self))" }
                #expect(missing.isEmpty, "foreign keys between branch tables not joined on branch_id: \(missing)")
                let joined = try await pool.query(
                    """
                    select count(*)::int from pg_constraint f
                    where f.contype = 'f' and f.conparentid = 0 and f.conrelid in (\(Self.distributed)) and f.confrelid in (\(Self.distributed))
                    """
                ).single().decode(0, as: Int.self)
                #expect(joined >= 20, "the query finds the foreign keys between branch tables")
            }
        }
    }

    /// A table that would be a reference table (no `branch_id`, or the few above) never points at a
    /// distributed one, but for the one exception above.
    @Test func noReferenceTablePointsAtABranchTable() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let rows = try await pool.query(
                    """
                    select f.conrelid::regclass::text, f.conname from pg_constraint f
                    where f.contype = 'f' and f.conparentid = 0 and f.confrelid in (\(Self.distributed)) and f.conrelid not in (\(Self.distributed))
                    order by 1, 2
                    """)
                let found = try rows.map { try $0.decode(1, as: String.self) }
                #expect(Set(found) == Set(Self.referenceToBranch.keys), "reference tables pointing at branch tables: \(found)")
            }
        }
    }

    @Test func everyNullableBranchIdIsDecided() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let rows = try await pool.query(
                    """
                    select c.relname from pg_class c
                    join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'huifang'
                    join pg_attribute a on a.attrelid = c.oid and a.attname = 'branch_id' and not a.attnotnull and not a.attisdropped
                    where c.relkind in ('r', 'p') and not c.relispartition
                    order by 1
                    """)
                let found = Set(try rows.map { try $0.decode(0, as: String.self) })
                #expect(found == Set(Self.nullableBranch.keys), "nullable branch_id: \(found.sorted())")
            }
        }
    }
}
