import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// Issue 23, item 4: a record named by its id is read and stepped on in its own year's partition
/// (sql/0072), not in all of them; the keys that make it so hold every record, tell no branch about
/// another's, and a record that lacks one is still found.
@Suite("Record keys: a record named by id starts on its own year")
struct RecordKeysTests {
    static func access(_ fixture: OrganizationFixture, _ who: String, _ action: Action, branch: Int? = nil) -> Access {
        Access(staffId: fixture.staff[who]!, action: action, branchIds: [branch ?? fixture.branchA], allBranches: false, organization: false)
    }

    /// The fixture's record of `branch` (one countersigned service record each).
    static func record(of branch: Int, _ pool: Pool) async throws -> Int64 {
        try await pool.query("select min(id) from huifang.records where branch_id = \(branch)").single().decode(0)
    }

    /// Scans so far of each year of `records`, its table and indexes but the amendments' index: a
    /// record's newest amendment is looked up with it (CallbackRecord.joins), and an amendment's year
    /// is its own, which the record's does not give. PostgreSQL 15 counts a backend's scans not yet
    /// reported, earlier transactions' too, so a transaction compares its own two readings.
    static let scansByYear: SQL = """
        select coalesce(array_agg(c.relname::text order by c.relname), '{}'),
               coalesce(array_agg(pg_stat_get_xact_numscans(c.oid)
                   + (select coalesce(sum(pg_stat_get_xact_numscans(x.indexrelid)), 0) from pg_index x
                      where x.indrelid = c.oid and x.indexrelid::regclass::text not like 'huifang.records\\_amendments\\_%')
                   order by c.relname), '{}')
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'huifang.records'::regclass
        """

    /// The years `body` scanned, in one transaction.
    static func yearsScanned<T: Sendable>(_ db: Connection, _ body: () async throws -> T) async throws -> (T, [String]) {
        func reading() async throws -> [String: Int] {
            let row = try await db.query(scansByYear).single()
            return Dictionary(uniqueKeysWithValues: zip(try row.decode(0, as: [String].self), try row.decode(1, as: [Int].self)))
        }
        let before = try await reading()
        let value = try await body()
        let after = try await reading()
        return (value, after.filter { $0.value > before[$0.key, default: 0] }.map(\.key).sorted())
    }

    @Test func aRecordNamedByIdIsReadAndSteppedOnInItsOwnYearAlone() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let (record, year): (Int64, String) = try await database.withPool { pool in
                // Years from 2015, so there are others to leave alone; a draft of June 2016.
                _ = try await pool.query("select huifang.create_history_partitions(3, '2015-01-01')")
                return try await pool.transaction { db in
                    try await db.query("select set_config('huifang.staff_id', \(String(fixture.staff["rpA"]!)), true)")
                    let row = try await db.query(
                        """
                        insert into huifang.records (branch_id, form_code, form_version, client_id, answers, created_at)
                        values (\(fixture.branchA), 'existing_client', 1, \(fixture.clientA), '{"method": "visit"}', '2016-06-01 10:00+08')
                        returning id, tableoid::regclass::text
                        """
                    ).single()
                    return (try row.decode(0), try row.decode(1))
                }
            }
            #expect(year == "huifang.records_2016")
            let yearCount: Int = try await database.withPool {
                try await $0.query("select count(*)::int from pg_inherits where inhparent = 'huifang.records'::regclass").single().decode(0)
            }
            #expect(yearCount >= 13)
            try await database.withPool(database.application) { pool in
                let rp = Self.access(fixture, "rpA", .writeRecords)
                let (found, read): (CallbackRecord?, [String]) = try await pool.transaction(for: rp) { db in
                    try await Self.yearsScanned(db) { try await RecordStore(db).get(record, branches: [fixture.branchA], lock: true) }
                }
                let record2016 = try #require(found)
                // The writes alone, by the record as read.
                let stepped: [String] = try await pool.transaction(for: rp) { db in
                    try await Self.yearsScanned(db) {
                        let store = RecordStore(db)
                        try await store.update(record2016, formVersion: 1, answers: JSONB(text: #"{"method": "phone"}"#), profile: nil)
                        try await store.take(.submit, on: record2016)
                    }.1
                }
                #expect(read == ["records_2016"])
                #expect(stepped == ["records_2016"])
                let state: String = try await pool.transaction(for: rp) {
                    try #require(try await RecordStore($0).get(record, branches: [fixture.branchA])).state.rawValue
                }
                #expect(state == "submitted")
                // HQ names the record by its id alone.
                let hq = Access(staffId: fixture.staff["auditor"]!, action: .readRecords, branchIds: [], allBranches: true, organization: false)
                let (seen, hqRead): (Int64?, [String]) = try await pool.transaction(for: hq) { db in
                    try await Self.yearsScanned(db) { try await RecordStore(db).get(record, branches: nil)?.id }
                }
                #expect(seen == record)
                #expect(hqRead == ["records_2016"])
            }
        }
    }

    @Test func everyRecordHasItsKeyAndOneWithoutIsStillFound() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let record = try await database.withPool(database.application) { pool in
                let rp = Self.access(fixture, "rpA", .writeRecords)
                return try await pool.transaction(for: rp) {
                    try await RecordStore($0).create(.init(
                        branchId: fixture.branchA, formCode: "existing_client", formVersion: 1, taskId: nil, clientId: fixture.clientA,
                        answers: JSONB(text: #"{"method": "visit"}"#), profile: nil))
                }
            }
            try await database.withPool { owner in
                let row = try await owner.query(
                    """
                    select (select count(*)::int from huifang.records),
                           (select count(*)::int from huifang.records r where not exists (
                                select from huifang.record_keys k where k.branch_id = r.branch_id and k.id = r.id and k.created_at = r.created_at)),
                           (select count(*)::int from huifang.record_keys)
                    """
                ).single()
                let (records, keyless, keys): (Int, Int, Int) = (try row.decode(0), try row.decode(1), try row.decode(2))
                #expect(records >= 3 && keyless == 0 && keys == records, "\(records) records, \(keyless) without a key, \(keys) keys")
                // A record whose key is missing (written with the triggers off) is looked for in every year.
                try await owner.query("delete from huifang.record_keys where id = \(record)")
            }
            try await database.withPool(database.application) { pool in
                let rp = Self.access(fixture, "rpA", .writeRecords)
                let state: String = try await pool.transaction(for: rp) { db in
                    let store = RecordStore(db)
                    let found = try #require(try await store.get(record, branches: [fixture.branchA], lock: true))
                    try await store.take(.submit, on: found)
                    return try #require(try await store.get(record, branches: [fixture.branchA])).state.rawValue
                }
                #expect(state == "submitted")
            }
        }
    }

    /// As an attacker in branch A would: with branch B's record id, in SQL and through the store.
    @Test func aBranchLearnsNothingOfAnotherBranchsRecordsFromTheKeys() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            let recordB = try await database.withPool { try await Self.record(of: fixture.branchB, $0) }
            try await database.withPool(database.application) { pool in
                let opsA = Self.access(fixture, "opsA", .readRecords)
                let row = try await pool.transaction(for: opsA) { db in
                    try await db.query(
                        """
                        select (select count(*)::int from huifang.record_keys where branch_id = \(fixture.branchB) or id = \(recordB)),
                               (select count(*)::int from huifang.record_keys where branch_id = \(fixture.branchA)),
                               huifang.record_created_at(\([fixture.branchB])::integer[], \(recordB)),
                               huifang.record_created_at(null::integer[], \(recordB))
                        """
                    ).single()
                }
                #expect(try row.decode(0, as: Int.self) == 0)
                #expect(try row.decode(1, as: Int.self) > 0)
                #expect(try row.decode(2, as: Date?.self) == nil)
                #expect(try row.decode(3, as: Date?.self) == nil)
                let (asScoped, asNamed): (Int64?, Int64?) = try await pool.transaction(for: opsA) { db in
                    (try await RecordStore(db).get(recordB, branches: [fixture.branchA])?.id,
                     try await RecordStore(db).get(recordB, branches: [fixture.branchB])?.id)
                }
                #expect(asScoped == nil && asNamed == nil)
                let writes = await #expect(throws: PostgresError.self) {
                    try await pool.transaction(for: opsA) { db in
                        try await db.query(
                            "insert into huifang.record_keys (branch_id, id, created_at) values (\(fixture.branchA), 999999999, now())")
                    }
                }
                #expect(writes?.sqlState == "42501")
                // An HQ department reads the keys of its own records only: none of the fixture's branch records.
                let functional = try await database.withPool {
                    try await $0.query("select department_id from huifang.role_grants where staff_id = \(fixture.staff["functional"]!) and department_id is not null limit 1").single().decode(0, as: Int.self)
                }
                let department = Access(
                    staffId: fixture.staff["functional"]!, action: .readRecords, branchIds: [], allBranches: false, organization: false,
                    departmentIds: [functional])
                let departmentRow = try await pool.transaction(for: department) { db in
                    try await db.query(
                        "select (select count(*)::int from huifang.record_keys), huifang.record_created_at(null::integer[], \(recordB))"
                    ).single()
                }
                #expect(try departmentRow.decode(0, as: Int.self) == 0)
                #expect(try departmentRow.decode(1, as: Date?.self) == nil)
                // Branch B's own people find it.
                let opsB = Self.access(fixture, "opsB", .readRecords, branch: fixture.branchB)
                let found = try await pool.transaction(for: opsB) { try await RecordStore($0).get(recordB, branches: [fixture.branchB])?.id }
                #expect(found == recordB)
            }
        }
    }
}
