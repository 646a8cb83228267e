import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// Issue 22, part 4: the audit trail and the fired SLA stages by month, and `huifang archive`.
@Suite("Years of history: monthly partitions and their archive")
struct HistoryArchiveTests {
    /// A branch's chain with events in January and February 2016 and now, and a clock whose stages
    /// fired in January 2016. Archiving before March 2016 writes those months to a file psql restores
    /// and drops them; the chain is still intact from the first event left, and breaks when the kept
    /// head of the archived part is taken away; a second run finds nothing to do.
    @Test func archivedMonthsLeaveTheChainVerifiableAndTheFileRestores() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let branch: Int = try await database.withPool { pool in
                // As the workers would have, years ago: the months exist before their rows.
                #expect(try await pool.query("select huifang.create_history_partitions(3, '2016-01-01')").single().decode(0, as: Int.self) > 100)
                let branch: Int = try await pool.query(
                    "insert into huifang.branches (code, name, region) values ('GZ001', '广州营业部', '华南') returning id"
                ).single().decode(0)
                for (at, count) in [("2016-01-10 10:00+08", 3), ("2016-02-10 10:00+08", 2), ("now", 2)] {
                    for n in 1...count {
                        try await pool.query(
                            """
                            insert into huifang.audit_events (at, branch_id, action, object_type, object_id)
                            values (\(at)::timestamptz, \(branch), 'client.updated', 'client', \(String(n)))
                            """)
                    }
                }
                try await pool.transaction { db in
                    _ = try await Timers(db).start(
                        TimerSubject(branchId: branch, kind: "test", id: 1, clock: "history"),
                        startedAt: ISO8601DateFormatter().date(from: "2016-01-04T10:00:00+08:00")!, workdays: 5, title: "2016",
                        notify: [.init(role: "ops_director", branchId: branch)])
                }
                return branch
            }
            try await database.withPool(database.application) { pool in
                while try await SLAEngine(pool: pool).fireDue(limit: 100).stages > 0 {}
            }
            let stages: Int = try await database.withPool {
                try await $0.query("select count(*)::int from huifang.sla_events_2016_01 where branch_id = \(branch)").single().decode(0)
            }
            #expect(stages == 4, "the clock's stages went to January 2016's partition")
            #expect(try await AuditChainTests.verify(database).allSatisfy { $0.broken == nil })

            let file = TestCluster.makeThrowawayDirectory(purpose: "archive").appendingPathComponent("history-2016.sql")
            let archived = try await HistoryArchive.archive(
                before: PostgresDate("2016-03-01")!, to: file, owner: database.owner, logger: TestCluster.quietLogger)
            #expect(archived.tables == ["audit_events_2016_01", "audit_events_2016_02", "sla_events_2016_01", "sla_events_2016_02"])
            #expect(archived.auditEvents == 5)
            #expect(archived.slaEvents == 4)

            let reports = try await AuditChainTests.verify(database)
            let chain = try #require(reports.first { $0.branchId == branch })
            #expect(chain.events == 2 && chain.broken == nil, "\(chain)")
            #expect(reports.allSatisfy { $0.broken == nil }, "\(reports)")
            try await database.withPool { pool in
                #expect(try await pool.query("select to_regclass('huifang.audit_events_2016_01') is null").single().decode(0, as: Bool.self))
                let recorded: Int = try await pool.query(
                    "select count(*)::int from huifang.audit_events where action = 'history.archived' and object_id = \(file.path)"
                ).single().decode(0)
                #expect(recorded == 1)
            }
            #expect(try await HistoryArchive.archive(
                before: PostgresDate("2016-03-01")!, to: file.appendingPathExtension("again"), owner: database.owner,
                logger: TestCluster.quietLogger
            ).tables.isEmpty)

            // The file restores with psql, each month a table of its own.
            let restored = try await TestDatabase.with(migrated: false) { scratch in
                try await scratch.withPool { try await $0.withConnection { try await $0.run(script: "create schema huifang") } }
                let psql = try ChildProcess.run(
                    try EmbeddedCluster.toolPath("psql"),
                    ["--dbname=\(scratch.owner.conninfo)", "--set=ON_ERROR_STOP=1", "--quiet", "--file=\(file.path)"])
                #expect(psql.status == 0, "\(psql.output)")
                return try await scratch.withPool {
                    try await $0.query(
                        "select (select count(*)::int from huifang.audit_events_2016_01), (select count(*)::int from huifang.sla_events_2016_01)"
                    ).single()
                }
            }
            #expect(try restored.decode(0, as: Int.self) == 3)
            #expect(try restored.decode(1, as: Int.self) == 4)

            // Without the head kept for it, the first event left names a hash nobody has.
            try await database.withPool { pool in
                try await pool.query("delete from huifang.audit_archived_heads where chain = \(branch)")
                let broken = try #require(try await AuditChainTests.verify(database).first { $0.branchId == branch }?.broken)
                #expect(broken.seq == 6)
            }
            _ = fixture
        }
    }

    /// The chain's head (0055) catches what the chain alone cannot: its newest events removed.
    @Test func verifyFindsTheNewestEventsRemoved() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                for n in 1...3 {
                    try await pool.query(
                        "insert into huifang.audit_events (branch_id, action, object_type, object_id) values (\(fixture.branchB), 'client.updated', 'client', \(String(n)))")
                }
                let last: Int64 = try await pool.query("select max(seq) from huifang.audit_events where chain = \(fixture.branchB)").single().decode(0)
                try await pool.withConnection { connection in
                    try await connection.run(script: "set session_replication_role = replica")  // the superuser's way past the triggers
                    try await connection.query("delete from huifang.audit_events where chain = \(fixture.branchB) and seq = \(last)")
                }
                let broken = try #require(try await AuditChainTests.verify(database).first { $0.branchId == fixture.branchB }?.broken)
                #expect(broken.seq == last)
                #expect(broken.reason.contains("head"))
            }
        }
    }
}
