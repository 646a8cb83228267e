import Postgres
import Store
import Testing
import TestSupport

@Suite("Requests run as a role that owns nothing and cannot bypass row-level security")
struct RequestRoleTests {
    @Test func applicationRoleIsPowerless() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let role = try await pool.query(
                    """
                    select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin
                    from pg_roles where rolname = \(DatabaseRoles.application)
                    """
                ).single()
                #expect(try role.decode(0, as: Bool.self) == false)
                #expect(try role.decode(1, as: Bool.self) == false)
                #expect(try role.decode(2, as: Bool.self) == false)
                #expect(try role.decode(3, as: Bool.self) == false)
                #expect(try role.decode(4, as: Bool.self) == true)
                let owned = try await pool.query(
                    """
                    select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                    where n.nspname = 'huifang' and pg_get_userbyid(c.relowner) = \(DatabaseRoles.application)
                    """
                ).single()
                #expect(try owned.decode(0, as: Int.self) == 0)
            }
        }
    }

    @Test func applicationRoleCannotChangeTheSchema() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(database.application, size: 1) { pool in
                let error = try await #require(throws: PostgresError.self) {
                    try await pool.query("create table huifang.sneaky (id int)")
                }
                #expect(error.sqlState == "42501")
                let tamper = try await #require(throws: PostgresError.self) {
                    try await pool.query("delete from huifang.schema_migrations")
                }
                #expect(tamper.sqlState == "42501")
            }
        }
    }
}
