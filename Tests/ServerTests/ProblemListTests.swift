import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

/// The problem lists (`GET /problems` in every queue and state) and a department's notifications,
/// page by page: each reader reads exactly what the database holds for their reach, in deadline
/// order, never another branch's — whichever walk the list takes (running or stopped clocks, a
/// person's few problems or their many).
@Suite("Problem lists and notifications page in deadline order")
struct ProblemListTests {
    /// Every id of `path` (ending in `?` or `&`), `size` at a time.
    static func paged(_ api: APIClient, _ token: String, _ path: String, size: Int = 10) async throws -> [Int] {
        try await api.pagedIDs(token, path, size: size)
    }

    /// A page size that reads `rows` in about eight pages.
    static func size(_ rows: [Int]) -> Int { max(3, rows.count / 8) }

    /// Problems of both branches, raised through the workflow's own triggers over the past weeks (so
    /// some clocks are breached) and walked into each state: raised, at HQ, claimed, closed. Branch
    /// A's responsible person raises more than a thousand, so their own list takes the walk of the
    /// clocks; branch B's raiser has a dozen, read one by one.
    static func raiseProblems(_ database: TestDatabase, _ fixture: OrganizationFixture) async throws {
        try await database.withPool { owner in
            _ = try await owner.query(
                """
                do $$
                declare
                    b record;
                    p huifang.problems;
                    i int;
                begin
                    for b in select * from (values
                        (\(unescaped: String(fixture.branchA)), \(unescaped: String(fixture.clientA)), \(unescaped: String(fixture.staff["rpA"]!)), \(unescaped: String(fixture.staff["opsA"]!)), 1010),
                        (\(unescaped: String(fixture.branchB)), \(unescaped: String(fixture.clientB)), \(unescaped: String(fixture.staff["deskB"]!)), \(unescaped: String(fixture.staff["opsB"]!)), 12)
                    ) v(branch, client, raiser, leader, n) loop
                        for i in 1..b.n loop
                            perform set_config('huifang.staff_id', b.raiser::text, true);
                            insert into huifang.problems (branch_id, category, severity, description, client_id)
                            values (b.branch, 'system_issue', 'high', 'Quotes lag ' || i, b.client) returning * into p;
                            update huifang.timers set started_at = now() - interval '1 day' * ((i * 7) % 45)
                            where branch_id = p.branch_id and subject_kind = 'problem' and subject_id = p.id;
                            continue when i > 12 or i % 4 = 0;
                            perform set_config('huifang.staff_id', b.leader::text, true);
                            update huifang.problems set state = 'at_hq', last_action = 'approve' where branch_id = p.branch_id and id = p.id;
                            continue when i % 4 = 1;
                            perform set_config('huifang.staff_id', '\(unescaped: String(fixture.staff["opsCenter"]!))', true);
                            update huifang.problems set state = 'in_triage', last_action = 'claim' where branch_id = p.branch_id and id = p.id;
                            continue when i % 4 = 2;
                            update huifang.problems set state = 'answered', last_action = 'resolve', resolution = 'Fixed'
                            where branch_id = p.branch_id and id = p.id;
                            insert into huifang.problem_relays (branch_id, problem_id, recipient, channel, relayed_at)
                            values (p.branch_id, p.id, 'branch_leader', 'system', now()),
                                   (p.branch_id, p.id, 'responsible_person', 'system', now()),
                                   (p.branch_id, p.id, 'client', 'phone', now());
                        end loop;
                    end loop;
                end
                $$
                """)
        }
    }

    @Test func everyQueueAndStatePagesWhatTheReaderMayReadInDeadlineOrder() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            try await Self.raiseProblems(database, fixture)
            func expected(_ condition: SQL) async throws -> [Int] {
                try await database.withPool { owner in
                    try await owner.query(
                        """
                        select p.id::int from huifang.problems p
                        join huifang.timers t on t.branch_id = p.branch_id and t.subject_kind = 'problem' and t.subject_id = p.id
                                              and t.clock = 'problem_loop'
                        where
                        """ + " " + condition + " order by t.due_at, p.branch_id, p.id"
                    ).map { try $0.decode(0) }
                }
            }
            let states: [String: Int] = try await database.withPool { owner in
                Dictionary(uniqueKeysWithValues: try await owner.query("select state, count(*)::int from huifang.problems group by state")
                    .map { (try $0.decode(0), try $0.decode(1)) })
            }
            #expect(states["closed"] == 6 && states["in_triage"] == 6 && states["at_hq"] == 6, "\(states)")
            let (a, b) = (fixture.branchA, fixture.branchB)
            let breached: SQL = "((t.stopped_at is null and t.due_at <= now()) or t.stopped_at > t.due_at)"

            let auditor = try await api.token("auditor")
            for (path, condition) in [
                ("/problems?", "p.state <> 'closed'"), ("/problems?state=closed&", "p.state = 'closed'"),
                ("/problems?open=false&", "true"), ("/problems?breached=true&", breached + " and p.state <> 'closed'"),
                ("/problems?breached=true&open=false&", breached), ("/problems?unclaimed=true&", "p.state = 'at_hq' and p.assignee_staff_id is null"),
                ("/problems?state=closed&branchId=\(b)&", "p.state = 'closed' and p.branch_id = \(b)"),
                ("/problems?state=closed&open=true&", "false"),
            ] as [(String, SQL)] {
                let wanted = try await expected(condition)
                let listed = try await Self.paged(api, auditor, path, size: Self.size(wanted))
                #expect(listed == wanted, "auditor \(path): \(listed.count) listed, \(wanted.count) expected")
            }

            let center = try await api.token("opsCenter")
            let staffCenter = fixture.staff["opsCenter"]!
            let boc: SQL = "p.department_id = (select id from huifang.departments where code = 'BOC')"
            for (path, condition) in [
                ("/problems?queue=triage&", boc + " and p.state not in ('closed', 'raised', 'returned')"),
                ("/problems?queue=triage&state=closed&", boc + " and p.state = 'closed'"),
                ("/problems?queue=triage&mine=true&", boc + " and p.state not in ('closed', 'raised', 'returned') and p.assignee_staff_id = \(staffCenter)"),
            ] as [(String, SQL)] {
                let wanted = try await expected(condition)
                let listed = try await Self.paged(api, center, path, size: Self.size(wanted))
                #expect(!listed.isEmpty && listed == wanted, "Ops Center \(path)")
            }

            // Branch roles: their branch alone, whatever they name. Branch A's raiser has more than a
            // thousand problems, branch B's a dozen: both walks give what the database orders.
            let ofB = Set(try await expected("p.branch_id = \(b)"))
            for (who, path, condition) in [
                ("opsA", "/problems?", "p.branch_id = \(a) and p.state <> 'closed'"),
                ("opsA", "/problems?state=closed&", "p.branch_id = \(a) and p.state = 'closed'"),
                ("opsA", "/problems?open=false&", "p.branch_id = \(a)"),
                ("rpA", "/problems?queue=raised&", "p.branch_id = \(a) and p.raised_by = \(fixture.staff["rpA"]!) and p.state <> 'closed'"),
                ("rpA", "/problems?queue=raised&open=false&", "p.branch_id = \(a) and p.raised_by = \(fixture.staff["rpA"]!)"),
                ("deskB", "/problems?queue=raised&open=false&", "p.branch_id = \(b) and p.raised_by = \(fixture.staff["deskB"]!)"),
                ("opsA", "/problems?branchId=\(b)&", "false"),
            ] as [(String, String, SQL)] {
                let token = try await api.token(who)
                let wanted = try await expected(condition)
                let listed = try await Self.paged(api, token, path, size: Self.size(wanted))
                #expect(listed == wanted, "\(who) \(path): \(listed.prefix(30)) listed, \(wanted.count) expected")
                if who.hasSuffix("A") { #expect(ofB.isDisjoint(with: listed), "\(who) read branch B's problems") }
            }
            #expect(try await Self.paged(api, try await api.token("rpA"), "/problems?queue=raised&", size: 200).count > 1_000)
        }
    }

    /// The queue counts, summed from the kept totals, equal a count of the problems themselves, for
    /// every reach, before and after the scheduler folds the totals; branch A never counts B's.
    @Test func queueCountsEqualTheProblemsBeforeAndAfterAFold() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            try await Self.raiseProblems(database, fixture)
            let boc: SQL = "p.department_id = (select id from huifang.departments where code = 'BOC') and p.state not in ('raised', 'returned')"
            let readers: [(String, String, SQL)] = [
                ("auditor", "/problems/counts?queue=branch", "true"),
                ("opsCenter", "/problems/counts?queue=triage", boc),
                ("opsA", "/problems/counts", "p.branch_id = \(fixture.branchA)"),
                ("opsB", "/problems/counts", "p.branch_id = \(fixture.branchB)"),
            ]
            func expected(_ scope: SQL, staff: Int64) async throws -> [Int] {
                try await database.withPool { owner in
                    let row = try await owner.query(
                        """
                        select count(*)::int, count(*) filter (where p.state = 'raised')::int,
                               count(*) filter (where p.state = 'at_hq' and p.assignee_staff_id is null)::int,
                               count(*) filter (where p.assignee_staff_id = \(staff))::int,
                               count(*) filter (where p.state = 'info_requested')::int, count(*) filter (where p.state = 'forwarded')::int,
                               count(*) filter (where p.state in ('answered', 'rejected'))::int
                        from huifang.problems p where p.state <> 'closed' and
                        """ + " " + scope
                    ).single()
                    return try (0..<7).map { try row.decode($0) }
                }
            }
            func check(_ when: String) async throws {
                for (who, path, scope) in readers {
                    let reply = try await api.send(.get, path, token: try await api.token(who))
                    let body = try reply.json()
                    let counted = ["open", "raised", "unclaimed", "mine", "infoRequested", "forwarded", "toRelay"].map { body[$0] as? Int ?? -1 }
                    #expect(counted == (try await expected(scope, staff: fixture.staff[who]!)), "\(who) \(path) \(when): \(reply.text)")
                }
            }
            try await check("as kept")
            // A department that reads no branch counts its triage queue only.
            #expect(try await api.send(.get, "/problems/counts?queue=branch", token: try await api.token("legal")).status == .forbidden)
            let opsB = try await api.send(.get, "/problems/counts", token: try await api.token("opsB")).json()
            #expect((opsB["open"] as? Int ?? .max) < 20, "branch B's own open problems, none of branch A's thousand")
            let folded: Int = try await database.withPool { owner in
                try await owner.query("select huifang.recount_problem_state_totals()::int").single().decode(0)
            }
            #expect(folded > 0)
            try await check("folded")
        }
    }

    @Test func aDepartmentsNotificationsAreItsOwnNewestFirstAndUnreadOnesStayUntilRead() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            try await Self.raiseProblems(database, fixture)
            let center = try await api.token("opsCenter")
            func expected(_ condition: SQL) async throws -> [Int] {
                try await database.withPool { owner in
                    try await owner.query(
                        """
                        select n.id::int from huifang.notifications n
                        where n.recipient_role = 'brokerage_ops_center'
                          and n.recipient_department_id = (select id from huifang.departments where code = 'BOC') and
                        """ + " " + condition + " order by n.id desc"
                    ).map { try $0.decode(0) }
                }
            }
            let all = try await expected("true")
            #expect(all.count >= 12, "the approvals notified the Ops Center")
            #expect(try await Self.paged(api, center, "/notifications?") == all)
            #expect(try await Self.paged(api, center, "/notifications?unread=true&") == all)
            // Read in both branches: gone from the unread list, still in the list.
            let read = [all[0], all[all.count - 1]]
            for id in read {
                #expect(try await api.send(.post, "/notifications/\(id)/read", token: center).status.code < 300)
            }
            #expect(try await Self.paged(api, center, "/notifications?unread=true&") == all.filter { !read.contains($0) })
            #expect(try await Self.paged(api, center, "/notifications?") == all)
            // Another department's person has none of them.
            let risk = try await Self.paged(api, try await api.token("risk"), "/notifications?")
            #expect(Set(risk).isDisjoint(with: all))
        }
    }
}
