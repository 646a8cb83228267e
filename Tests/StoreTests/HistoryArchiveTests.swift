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
            let restored = try await Self.restore(
                file, counting: "select (select count(*)::int from huifang.audit_events_2016_01), (select count(*)::int from huifang.sla_events_2016_01)")
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

    /// Records by year (0060): `huifang archive` takes a year of records only when asked
    /// (`recordsBefore`), with their signatures and findings, and only when nothing kept points at
    /// them — a problem raised from a 2016 record keeps 2016, and then nothing at all is archived.
    @Test func aYearOfRecordsIsArchivedWithItsSignaturesOnlyWhenNothingPointsAtIt() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                #expect(try await pool.query("select huifang.create_history_partitions(3, '2015-01-01')").single().decode(0, as: Int.self) > 100)
                for (at, raise) in [("2015-06-01 10:00+08", false), ("2016-06-01 10:00+08", true)] {
                    try await pool.transaction { db in
                        func act(as who: String) async throws {
                            try await db.query("select set_config('huifang.staff_id', \(String(fixture.staff[who]!)), true)")
                        }
                        try await act(as: "rpA")
                        let record: Int64 = try await db.query(
                            """
                            insert into huifang.records (branch_id, form_code, form_version, client_id, answers, created_at)
                            values (\(fixture.branchA), 'existing_client', 1, \(fixture.clientA),
                                    '{"method": "visit", "findings": [{"kind": "need", "text": "wants margin trading"}]}', \(at)::timestamptz)
                            returning id
                            """
                        ).single().decode(0)
                        try await db.query("update huifang.records set state = 'submitted' where id = \(record)")
                        if raise {
                            try await db.query(
                                """
                                insert into huifang.problems (branch_id, finding_id, category, severity, description)
                                select branch_id, id, 'service_need', 'low', text from huifang.record_findings where record_id = \(record)
                                """)
                        }
                        try await act(as: "opsA")
                        try await db.query("update huifang.records set state = 'countersigned' where id = \(record)")
                    }
                }
                let years: [String] = try await pool.query(
                    "select tableoid::regclass::text from huifang.records where created_at < '2017-01-01' order by created_at"
                ).map { try $0.decode(0) }
                #expect(years == ["huifang.records_2015", "huifang.records_2016"])
            }
            func counts() async throws -> [Int] {
                try await database.withPool { pool in
                    let row = try await pool.query(
                        """
                        select (select count(*)::int from huifang.records where created_at < '2017-01-01'),
                               (select count(*)::int from huifang.record_signatures where record_created_at < '2017-01-01'),
                               (select count(*)::int from huifang.record_findings where record_created_at < '2017-01-01'),
                               (select count(*)::int from huifang.record_keys where created_at < '2017-01-01')
                        """
                    ).single()
                    return [try row.decode(0), try row.decode(1), try row.decode(2), try row.decode(3)]
                }
            }
            #expect(try await counts() == [2, 4, 2, 2])

            let directory = TestCluster.makeThrowawayDirectory(purpose: "archive-records")
            let refused = await #expect(throws: HistoryArchive.RecordsStillReferenced.self) {
                try await HistoryArchive.archive(
                    before: PostgresDate("2015-01-01")!, recordsBefore: PostgresDate("2017-01-01")!,
                    to: directory.appendingPathComponent("refused.sql"), owner: database.owner, logger: TestCluster.quietLogger)
            }
            #expect(refused?.year == 2016)
            #expect(refused?.references.map(\.table) == ["problems"])
            #expect(refused?.description.contains("1 row(s) of huifang.problems") == true)
            #expect(try await counts() == [2, 4, 2, 2], "nothing was archived, not even 2015")

            let file = directory.appendingPathComponent("records-2015.sql")
            let archived = try await HistoryArchive.archive(
                before: PostgresDate("2015-01-01")!, recordsBefore: PostgresDate("2016-01-01")!, to: file, owner: database.owner,
                logger: TestCluster.quietLogger)
            #expect(archived.tables == ["record_findings_2015", "record_signatures_2015", "records_2015"])
            #expect((archived.records, archived.recordSignatures, archived.recordFindings) == (1, 2, 1))
            #expect(try await counts() == [1, 2, 1, 1])
            let gone: Bool = try await database.withPool {
                try await $0.query("select to_regclass('huifang.records_2015') is null").single().decode(0)
            }
            #expect(gone)

            let restored = try await Self.restore(
                file,
                counting: """
                    select (select count(*)::int from huifang.records_2015), (select count(*)::int from huifang.record_signatures_2015),
                           (select count(*)::int from huifang.record_findings_2015)
                    """)
            #expect(try [restored.decode(0, as: Int.self), restored.decode(1, as: Int.self), restored.decode(2, as: Int.self)] == [1, 2, 1])
        }
    }

    /// Restores an archive file with psql into an empty database, as a DBA would, and reads `counts` there.
    static func restore(_ file: URL, counting counts: SQL) async throws -> Row {
        try await TestDatabase.with(migrated: false) { scratch in
            try await scratch.withPool { try await $0.withConnection { try await $0.run(script: "create schema huifang") } }
            let psql = try ChildProcess.run(
                try EmbeddedCluster.toolPath("psql"),
                ["--dbname=\(scratch.owner.conninfo)", "--set=ON_ERROR_STOP=1", "--quiet", "--file=\(file.path)"])
            #expect(psql.status == 0, "\(psql.output)")
            return try await scratch.withPool { try await $0.query(counts).single() }
        }
    }
}
