import Postgres

/// The file PostgreSQL writes its log to, read through the server as the owner (a superuser:
/// `pg_stat_file`, `pg_read_file`): `pg_current_logfile()` with the logging collector, else
/// `server.log` in the data directory (where `EmbeddedCluster` has pg_ctl write it). What a
/// window of requests logged is the part between two sizes.
struct ServerLogFile: Sendable {
    let owner: Pool
    let path: String

    static func locate(owner: Pool) async throws -> ServerLogFile {
        let superuser = try await owner.query("select rolsuper from pg_roles where rolname = current_user").single().decode(0, as: Bool.self)
        guard superuser else {
            throw BenchmarkError("reading the server's log needs the owner to be a superuser (pg_read_file)")
        }
        let row = try await owner.query(
            """
            select f, (pg_stat_file(f, true)).size
            from (select coalesce(pg_current_logfile('stderr'), 'server.log') as f) x
            """
        ).single()
        let path = try row.decode(0, as: String.self)
        guard try row.decode(1, as: Int64?.self) != nil else {
            throw BenchmarkError("cannot find the server's log (\(path)): turn on logging_collector, or use the embedded cluster")
        }
        return ServerLogFile(owner: owner, path: path)
    }

    func size() async throws -> Int64 {
        try await owner.query("select (pg_stat_file(\(path))).size").single().decode(0, as: Int64.self)
    }

    /// What was written from `start` (a size read earlier) to now.
    func text(since start: Int64) async throws -> String {
        let end = try await size()
        return try await owner.query("select pg_read_file(\(path), \(start), \(end - start))").single().decode(0, as: String.self)
    }
}
