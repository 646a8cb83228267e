import Foundation
import Postgres

/// Captures the statements requests send, from PostgreSQL's own log: `log_statement = all` and a
/// line prefix naming the user are switched on with ALTER SYSTEM (the server's pooled connections
/// pick them up at their next statement, no reconnect), one request of each kind is sent with a
/// marker statement of the owner before it, and the new part of the log is read back through
/// `pg_read_file`. The settings are reset however it ends.
///
/// Needs the owner to be a superuser (ALTER SYSTEM, pg_read_file) and the log to be a file the
/// server writes (`ServerLogFile`).
struct StatementCapture: Sendable {
    let owner: Pool
    let applicationUser: String

    /// Sends each request (in order) and returns, by name, the statements the request role sent meanwhile.
    func capture(_ requests: [(name: String, send: @Sendable () async throws -> Void)]) async throws -> [String: [LoggedStatement]] {
        let log = try await ServerLogFile.locate(owner: owner)
        let start = try await log.size()
        try await configure(["log_statement = 'all'", "log_line_prefix = '\(StatementLog.linePrefix)'"])
        do {
            for request in requests {
                try await Self.mark(request.name, owner: owner)
                try await request.send()
            }
            try await Self.mark("end", owner: owner)
        } catch {
            try? await configure(["log_statement", "log_line_prefix"], reset: true)
            throw error
        }
        try await configure(["log_statement", "log_line_prefix"], reset: true)
        return Self.group(StatementLog.parse(try await log.text(since: start)), user: applicationUser)
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

    /// A statement of the owner that names the request sent next; it shows in the log (as a
    /// statement, or in the plan `auto_explain` logs) and `markerName` reads the name back.
    static func mark(_ name: String, owner: Pool) async throws {
        try await owner.withConnection { try await $0.run(script: markerPrefix + name + " */") }
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
