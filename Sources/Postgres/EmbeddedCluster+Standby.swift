import Foundation

extension EmbeddedCluster {
    /// A hot standby of this running cluster in `dataDirectory`, not started: a base backup taken
    /// with `pg_basebackup -R`, which writes `standby.signal` and the `primary_conninfo` that streams
    /// from this cluster's socket. Its own `settings` apply when it starts; this cluster's (given to
    /// `pg_ctl` when it started) do not travel with the backup.
    public func makeStandby(dataDirectory: URL, port: Int? = nil, settings: [String: String] = [:]) throws -> EmbeddedCluster {
        let standby = try EmbeddedCluster(dataDirectory: dataDirectory, port: port ?? self.port, settings: settings, logger: logger)
        if ServerUser.isNeeded {
            try ServerUser.createDirectory(standby.dataDirectory)
        } else {
            try FileManager.default.createDirectory(at: standby.dataDirectory, withIntermediateDirectories: true)
            chmod(standby.dataDirectory.path, 0o700)
        }
        let result = try runTool(
            "pg_basebackup",
            ["-D", standby.dataDirectory.path, "-R", "-X", "stream", "-c", "fast", "-h", socketDirectory, "-p", String(self.port),
             "-U", Self.superuser])
        guard result.status == 0 else { throw EmbeddedClusterError.toolFailed("pg_basebackup", result.output) }
        // The primary's stamp, log and socket lock (the socket lives in the data directory) came with
        // the backup; they are not the standby's.
        for file in [standby.ownerFile, standby.logFile, standby.dataDirectory.appendingPathComponent(".s.PGSQL.\(self.port).lock")] {
            try? FileManager.default.removeItem(at: file)
        }
        return standby
    }

    /// Ends recovery: a standby becomes a primary that accepts writes (`pg_ctl promote`, waiting until it does).
    public func promote() throws {
        let result = try runTool("pg_ctl", ["-D", dataDirectory.path, "-w", "-t", "60", "promote"])
        guard result.status == 0 else { throw EmbeddedClusterError.toolFailed("pg_ctl promote", result.output) }
    }
}
