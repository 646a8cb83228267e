import Foundation
import Postgres

/// Captures the statements requests send, from PostgreSQL's own log: `log_statement = all` and a
/// line prefix naming the user are switched on with ALTER SYSTEM (the server's pooled connections
/// pick them up at their next statement, no reconnect), one request of each kind is sent with a
/// marker statement of the owner before it, and the new part of the log is read back through
/// `pg_read_file`. The settings are reset however it ends.
///
/// Needs the owner to be a superuser (ALTER SYSTEM, pg_read_file) and the log to be a file the
/// server writes: `pg_current_logfile()` with the logging collector, else `server.log` in the data
/// directory (where `EmbeddedCluster` has pg_ctl write it).
struct StatementCapture: Sendable {
    let owner: Pool
    let applicationUser: String

    /// Sends each request (in order) and returns, by name, the statements the request role sent meanwhile.
    func capture(_ requests: [(name: String, send: @Sendable () async throws -> Void)]) async throws -> [String: [LoggedStatement]] {
        let (file, start) = try await logFile()
        try await configure(["log_statement = 'all'", "log_line_prefix = '\(StatementLog.linePrefix)'"])
        do {
            for request in requests {
                try await mark(request.name)
                try await request.send()
            }
            try await mark("end")
        } catch {
            try? await configure(["log_statement", "log_line_prefix"], reset: true)
            throw error
        }
        try await configure(["log_statement", "log_line_prefix"], reset: true)
        let end = try await owner.query("select (pg_stat_file(\(file))).size").single().decode(0, as: Int64.self)
        let text = try await owner.query("select pg_read_file(\(file), \(start), \(end - start))").single().decode(0, as: String.self)
        return Self.group(StatementLog.parse(text), user: applicationUser)
    }

    /// The statements of `user` between one marker and the next, by the name of the first marker.
    static func group(_ statements: [LoggedStatement], user: String) -> [String: [LoggedStatement]] {
        var groups: [String: [LoggedStatement]] = [:]
        var current: String?
        for statement in statements {
            if let name = markerName(statement.text) {
                current = name
                groups[name] = groups[name] ?? []
            } else if let current, statement.user == user {
                groups[current, default: []].append(statement)
            }
        }
        groups["end"] = nil
        return groups
    }

    private static let markerPrefix = "select 1 /* huifang-bench capture: "

    static func markerName(_ text: String) -> String? {
        guard let rest = text.dropPrefix(markerPrefix), let end = rest.range(of: " */") else { return nil }
        return String(rest[..<end.lowerBound])
    }

    private func mark(_ name: String) async throws {
        try await owner.withConnection { try await $0.run(script: Self.markerPrefix + name + " */") }
    }

    private func logFile() async throws -> (file: String, size: Int64) {
        let superuser = try await owner.query("select rolsuper from pg_roles where rolname = current_user").single().decode(0, as: Bool.self)
        guard superuser else {
            throw BenchmarkError("capturing the statements needs the owner to be a superuser (ALTER SYSTEM, pg_read_file)")
        }
        let row = try await owner.query(
            """
            select f, (pg_stat_file(f, true)).size
            from (select coalesce(pg_current_logfile('stderr'), 'server.log') as f) x
            """
        ).single()
        let file = try row.decode(0, as: String.self)
        guard let size = try row.decode(1, as: Int64?.self) else {
            throw BenchmarkError("cannot find the server's log (\(file)): turn on logging_collector, or use the embedded cluster")
        }
        return (file, size)
    }

    /// ALTER SYSTEM for each setting, then a reload; a moment for the backends to take it.
    private func configure(_ settings: [String], reset: Bool = false) async throws {
        try await owner.withConnection { connection in
            for setting in settings {
                try await connection.run(script: reset ? "alter system reset \(setting)" : "alter system set \(setting)")
            }
            try await connection.run(script: "select pg_reload_conf()")
        }
        try await Task.sleep(for: .milliseconds(300))
    }
}
