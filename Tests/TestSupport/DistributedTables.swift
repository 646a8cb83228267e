import Postgres

/// The tables a Citus cluster would distribute by `branch_id` (issue 22, part 5; docs/scaling.md).
public enum DistributedTables {
    /// Their oids: every table of the schema with a `branch_id` that is never null (partitions
    /// are their parent's).
    public static let byBranch: SQL = """
        select c.oid from pg_class c
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'huifang'
        join pg_attribute a on a.attrelid = c.oid and a.attname = 'branch_id' and a.attnotnull and not a.attisdropped
        where c.relkind in ('r', 'p') and not c.relispartition
        """
}
