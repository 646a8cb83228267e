import Postgres
import Testing
import TestSupport

@Suite("Errors carry the SQLSTATE and what caused them")
struct ErrorTests {
    @Test func uniqueViolationNamesItsConstraint() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                try await pool.query("create table t (id int constraint t_pkey primary key)")
                try await pool.query("insert into t values (\(1))")
                let error = try await #require(throws: PostgresError.self) {
                    try await pool.query("insert into t values (\(1))")
                }
                #expect(error.sqlState == "23505")
                #expect(error.isUniqueViolation)
                #expect(error.constraint == "t_pkey")
                #expect(error.detail?.contains("(id)=(1)") == true)
            }
        }
    }

    @Test func syntaxErrorsAndUnknownTables() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                let syntax = try await #require(throws: PostgresError.self) { try await pool.query("selec 1") }
                #expect(syntax.sqlState == "42601")
                #expect(syntax.kind == .server)
                let missing = try await #require(throws: PostgresError.self) { try await pool.query("select * from nowhere") }
                #expect(missing.sqlState == "42P01")
                // The connection is still good afterwards.
                #expect(try await pool.query("select 1").single().decode(0, as: Int.self) == 1)
            }
        }
    }

    @Test func connectingToAMissingDatabaseIsAConnectionError() async throws {
        let cluster = try await TestCluster.shared.cluster()
        let pool = Pool(configuration: cluster.configuration(database: "no_such_database"), size: 1)
        let error = try await #require(throws: PostgresError.self) { try await pool.query("select 1") }
        #expect(error.isConnectionLoss)
        #expect(error.message.contains("no_such_database"))
        await pool.shutdown()
    }
}
