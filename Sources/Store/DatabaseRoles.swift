import Postgres

/// The two database roles Huifang uses.
///
/// The owner (whoever `DATABASE_URL` names) runs migrations and owns every object. Requests run as
/// `huifang_app`, created by the first migration: it owns nothing and has no BYPASSRLS, so row-level
/// security applies to everything it does.
public enum DatabaseRoles {
    public static let application = "huifang_app"

    /// Sets the application role's password (for servers that require one); bound, never spliced.
    public static func setApplicationPassword(_ password: String, using pool: Pool) async throws {
        try await pool.transaction { connection in
            try await connection.query("select set_config('huifang.new_password', \(password), true)")
            try await connection.run(
                script: """
                    do $$ begin
                      execute format('alter role huifang_app password %L', current_setting('huifang.new_password'));
                    end $$
                    """)
        }
    }

    /// The owner's and the request role's connections as `huifang` reads them from the environment:
    /// `DATABASE_URL` (the owner), and `HUIFANG_APP_DATABASE_URL` or else the same URL with the user
    /// replaced by `huifang_app` (and `HUIFANG_APP_PASSWORD`). Everything else of the URL — several
    /// hosts and ports, `target_session_attrs`, `options` — reaches libpq as written. Nil without
    /// `DATABASE_URL`.
    public static func connections(environment: [String: String]) -> (owner: ConnectionConfiguration, application: ConnectionConfiguration)? {
        guard let url = environment["DATABASE_URL"], !url.isEmpty else { return nil }
        let owner = ConnectionConfiguration(conninfo: url)
        if let appURL = environment["HUIFANG_APP_DATABASE_URL"], !appURL.isEmpty {
            return (owner, ConnectionConfiguration(conninfo: appURL))
        }
        return (owner, owner.connecting(as: application, password: environment["HUIFANG_APP_PASSWORD"]))
    }

    /// The hot standby of `HUIFANG_READ_DATABASE_URL` for the heavy reads, as the request role (the
    /// user replaced by `huifang_app`, with `HUIFANG_APP_PASSWORD`, as for `DATABASE_URL`); nil when unset.
    public static func readConnection(environment: [String: String]) -> ConnectionConfiguration? {
        guard let url = environment["HUIFANG_READ_DATABASE_URL"], !url.isEmpty else { return nil }
        var read = ConnectionConfiguration(conninfo: url).connecting(as: application, password: environment["HUIFANG_APP_PASSWORD"])
        read.readsFromStandby = true
        return read
    }
}
