import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

@Suite("The audit trail is a hash chain per branch that verify checks")
struct AuditChainTests {
    static func verify(_ database: TestDatabase) async throws -> [AuditChain.Report] {
        try await database.withPool { pool in try await pool.transaction(readOnly: true) { try await AuditChain($0).verify() } }
    }

    @Test func concurrentWritersKeepTheChainIntactAndTheRequestRoleCannotRewriteIt() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let ops = fixture.staff["opsA"]!
            try await database.withPool(database.application, size: 4) { pool in
                let access = Access(staffId: ops, action: .writeClients, branchIds: [fixture.branchA], allBranches: false, organization: false)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for n in 0..<4 {
                        group.addTask {
                            for k in 0..<10 {
                                try await pool.transaction(for: access) {
                                    try await AuditLog($0).record(
                                        action: "client.updated", objectType: "client", objectId: "\(n)-\(k)", branchId: fixture.branchA)
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                for statement: SQL in [
                    "update huifang.audit_events set reason = 'rewritten' where branch_id = \(fixture.branchA)",
                    "delete from huifang.audit_events where branch_id = \(fixture.branchA)",
                ] {
                    let error = await #expect(throws: PostgresError.self) {
                        try await pool.transaction(for: access) { try await $0.execute(statement) }
                    }
                    #expect(error?.sqlState == "42501")
                }
                // The chains' heads are read as the trail is: branch A's own only, and never written.
                let chains: [Int] = try await pool.transaction(for: access) {
                    try await $0.query("select chain from huifang.audit_chain_heads order by chain").map { try $0.decode(0) }
                }
                #expect(chains == [fixture.branchA])
                let rewrite = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: access) {
                        try await $0.execute("update huifang.audit_chain_heads set seq = 0 where chain = \(fixture.branchA)")
                    }
                }
                #expect(rewrite?.sqlState == "42501")
            }
            let reports = try await Self.verify(database)
            #expect(reports.allSatisfy { $0.broken == nil }, "\(reports)")
            let a = try #require(reports.first { $0.branchId == fixture.branchA })
            #expect(a.events >= 41)
            // The event records the scope it was written in.
            let scope: String = try await database.withPool {
                try await $0.query(
                    "select scope->>'action' from huifang.audit_events where chain = \(fixture.branchA) order by seq desc limit 1"
                ).single().decode(0)
            }
            #expect(scope == "writeClients")
        }
    }

    @Test func verifyFindsTheFirstEventAnOwnerAlteredOrRemoved() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                for k in 0..<5 {
                    for branch in [fixture.branchA, fixture.branchB] {
                        try await pool.query(
                            "insert into huifang.audit_events (branch_id, action, object_type, object_id) values (\(branch), 'client.updated', 'client', \(String(k)))")
                    }
                }
            }
            #expect(try await Self.verify(database).allSatisfy { $0.broken == nil })
            try await database.withPool(size: 1) { pool in
                // Even the owner must switch the triggers off to change history.
                let refused = await #expect(throws: PostgresError.self) {
                    try await pool.query("update huifang.audit_events set reason = 'x' where chain = \(fixture.branchA) and seq = 3")
                }
                #expect(refused?.sqlState == "55000")
                try await pool.withConnection { db in
                    try await db.run(script: "set session_replication_role = replica")
                    try await db.execute("update huifang.audit_events set reason = 'nothing happened' where chain = \(fixture.branchA) and seq = 3")
                    try await db.execute("delete from huifang.audit_events where chain = \(fixture.branchB) and seq = 4")
                    try await db.run(script: "set session_replication_role = origin")
                }
            }
            let reports = try await Self.verify(database)
            let a = try #require(reports.first { $0.branchId == fixture.branchA })
            #expect(a.broken?.seq == 3)
            #expect(a.broken?.reason == "its content does not match its hash")
            let b = try #require(reports.first { $0.branchId == fixture.branchB })
            #expect(b.broken?.seq == 5)
            #expect(b.broken?.reason == "events before it are missing")
            #expect(reports.first { $0.branchId == nil }.map { $0.broken == nil } ?? true)
        }
    }
}
