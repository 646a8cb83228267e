import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

/// The lists of history (`GET /audit-events`, `GET /records`) newest first by time, over their
/// partitions (months, years), page by page: each reader reads every row they may once, in order,
/// never another branch's.
@Suite("History lists page newest first across partitions")
struct HistoryListTests {
    /// Every id of `path` (ending in `?` or `&`), two at a time.
    static func paged(_ api: APIClient, _ token: String, _ path: String) async throws -> [Int] {
        try await api.pagedIDs(token, path, size: 2)
    }

    /// A cursor this server did not make (an old id-only one among them) is a 422.
    static func expectCursorsRefused(_ api: APIClient, _ token: String, _ path: String) async throws {
        for cursor in ["12", "x.1", "1.2.3"] {
            let refused = try await api.send(.get, path + "?after=\(cursor)", token: token)
            #expect(refused.status.code == 422, "\(path) after \(cursor): \(refused.text)")
        }
    }

    @Test func everyReaderPagesThroughWhatTheyMayReadNewestFirst() async throws {
        try await withFixtureApp { api, fixture, database in
            let manager = fixture.staff["managerA"]!
            // Written out of time order, so that ids contradict times: the list follows the times.
            // Months back land in other partitions (or the default one) than this month's.
            try await database.withPool { owner in
                for (branch, actor, daysAgo) in [
                    (fixture.branchA, fixture.staff["opsA"]!, 10), (fixture.branchA, fixture.staff["opsA"]!, 70),
                    (fixture.branchB, fixture.staff["opsB"]!, 5), (fixture.branchB, fixture.staff["opsB"]!, 40),
                    (nil, manager, 20), (fixture.branchA, manager, 35),
                ] as [(Int?, Int64, Int)] {
                    _ = try await owner.query(
                        """
                        insert into huifang.audit_events (at, actor_staff_id, branch_id, action, object_type, object_id)
                        values (now() - make_interval(days => \(daysAgo)), \(actor), \(branch), 'test.listed', 'test', \(String(daysAgo)))
                        """)
                }
            }
            func expected(_ condition: SQL) async throws -> [Int] {
                try await database.withPool { owner in
                    try await owner.query("select id::int from huifang.audit_events where " + condition + " order by at desc, id desc")
                        .map { try $0.decode(0) }
                }
            }
            let auditor = try await api.token("auditor")
            let everything = try await expected("true")
            #expect(everything.count >= 6)
            #expect(try await Self.paged(api, auditor, "/audit-events?") == everything)
            #expect(try await Self.paged(api, auditor, "/audit-events?branchId=\(fixture.branchB)&") == (try await expected("branch_id = \(fixture.branchB)")))

            let managerToken = try await api.token("managerA")
            let mine = try await Self.paged(api, managerToken, "/audit-events?")
            #expect(mine == (try await expected("branch_id = \(fixture.branchA) or actor_staff_id = \(manager)")))
            #expect(!mine.isEmpty)
            let branchB = try await expected("branch_id = \(fixture.branchB)")
            #expect(Set(mine).isDisjoint(with: branchB), "branch A's manager read branch B's events")
            // Naming branch B gives branch A's manager nothing of it.
            #expect(try await Self.paged(api, managerToken, "/audit-events?branchId=\(fixture.branchB)&").isEmpty)

            try await Self.expectCursorsRefused(api, auditor, "/audit-events")
            // A query string that cannot be read is the request's fault, not the server's.
            let malformed = try await api.send(.get, "/audit-events?&limit=2", token: auditor)
            #expect(malformed.status.code == 400, "\(malformed.text)")
        }
    }

    @Test func recordListsPageNewestFirstAcrossYears() async throws {
        try await withFixtureApp { api, fixture, database in
            // Copies of each branch's record in earlier years, written newest first so that ids rise
            // as times fall: the list follows the times, over the years' partitions.
            try await database.withPool { owner in
                _ = try await owner.query("select huifang.create_record_partitions('2021-01-01')")
                _ = try await owner.query("alter table huifang.records disable trigger user")
                for daysAgo in [30, 400, 800, 1_500] {
                    _ = try await owner.query(
                        """
                        insert into huifang.records (branch_id, form_code, form_version, client_id, performer_staff_id, leader_role,
                                                     archiver_role, answers, state, created_at, updated_at, countersigned_at, archived_at)
                        select branch_id, form_code, form_version, client_id, performer_staff_id, leader_role, archiver_role, answers,
                               'archived', x.at, x.at, x.at, x.at
                        from huifang.records cross join (select now() - make_interval(days => \(daysAgo)) as at) x
                        where amends_id is null and created_at > now() - interval '1 day'
                        """)
                }
                _ = try await owner.query("alter table huifang.records enable trigger user")
            }
            func expected(_ condition: SQL) async throws -> [Int] {
                try await database.withPool { owner in
                    try await owner.query("select id::int from huifang.records where " + condition + " order by created_at desc, id desc")
                        .map { try $0.decode(0) }
                }
            }
            let years: Int = try await database.withPool { owner in
                try await owner.query("select count(distinct tableoid)::int from huifang.records where branch_id = \(fixture.branchA)")
                    .single().decode(0)
            }
            #expect(years >= 4)

            let ops = try await api.token("opsA")
            let branchA = try await expected("branch_id = \(fixture.branchA)")
            #expect(branchA.count >= 5)
            let listed = try await Self.paged(api, ops, "/records?")
            #expect(listed == branchA)
            let archived = try await Self.paged(api, ops, "/records?state=archived&")
            #expect(archived == (try await expected("branch_id = \(fixture.branchA) and state = 'archived'")))
            let ofClient = try await Self.paged(api, ops, "/records?clientId=\(fixture.clientA)&")
            #expect(ofClient == (try await expected("branch_id = \(fixture.branchA) and client_id = \(fixture.clientA)")))
            // Branch A's ops director never reads branch B's, even by naming it.
            let branchB = try await expected("branch_id = \(fixture.branchB)")
            #expect(!branchB.isEmpty && Set(listed).isDisjoint(with: branchB))
            let namingB = try await api.send(.get, "/records?branchId=\(fixture.branchB)", token: ops)
            let namedItems = namingB.status == .ok ? (try namingB.json()["items"] as? [Any]) : nil
            #expect(namingB.status.code == 403 || namedItems?.isEmpty == true, "\(namingB.text)")

            let auditor = try await api.token("auditor")
            let everything = try await Self.paged(api, auditor, "/records?")
            #expect(everything == (try await expected("true")))
            // HQ's list of one client walks the client's branch only; of another branch's client, that one's.
            let hqOfClient = try await Self.paged(api, auditor, "/records?clientId=\(fixture.clientA)&")
            #expect(hqOfClient == ofClient)
            let hqOfClientB = try await Self.paged(api, auditor, "/records?clientId=\(fixture.clientB)&")
            let clientB = try await expected("client_id = \(fixture.clientB)")
            #expect(!clientB.isEmpty && hqOfClientB == clientB)
            try await Self.expectCursorsRefused(api, auditor, "/records")
        }
    }
}
