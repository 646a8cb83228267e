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
}
