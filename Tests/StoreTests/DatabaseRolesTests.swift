import Postgres
import Store
import Testing

/// How `huifang` reads its connections from the environment (issue 22): several hosts pass through
/// untouched, the request role replaces the user, the read replica is optional.
@Suite("The connections named by the environment")
struct DatabaseRolesTests {
    @Test func severalHostsReachTheRequestRoleAndTheReplicaAsWritten() throws {
        let url = "postgresql://owner:secret@db1:5432,db2:5432/huifang?target_session_attrs=read-write&sslmode=require"
        let (owner, application) = try #require(DatabaseRoles.connections(environment: ["DATABASE_URL": url, "HUIFANG_APP_PASSWORD": "app"]))
        #expect(owner.conninfo == url)
        #expect(application.conninfo == url)
        #expect(application.toolEnvironment() == ["PGUSER=huifang_app", "PGPASSWORD=app"])
        #expect(!application.readsFromStandby)

        let explicit = try #require(DatabaseRoles.connections(environment: ["DATABASE_URL": url, "HUIFANG_APP_DATABASE_URL": "postgresql://x@db3/h"]))
        #expect(explicit.application.conninfo == "postgresql://x@db3/h")
        #expect(DatabaseRoles.connections(environment: [:]) == nil)

        let standby = "postgresql://owner@db2:5432/huifang"
        let read = try #require(DatabaseRoles.readConnection(environment: ["HUIFANG_READ_DATABASE_URL": standby, "HUIFANG_APP_PASSWORD": "app"]))
        #expect(read.conninfo == standby)
        #expect(read.readsFromStandby)
        #expect(read.toolEnvironment() == ["PGUSER=huifang_app", "PGPASSWORD=app"])
        #expect(DatabaseRoles.readConnection(environment: ["HUIFANG_READ_DATABASE_URL": ""]) == nil)
    }
}
