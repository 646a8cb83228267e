import Foundation
import DemoData
import Domain
import Postgres
import Store
import TestSupport
import Testing

@Suite("Demo data: a realistic, reproducible organization")
struct DemoDataTests {
    static let hash = OrganizationFixture.passwordHash

    @Test func aSmallDemoHasEveryRoleAndEveryKindOfClient() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                #expect(try await DemoData.isLoaded(pool) == false)
                try await DemoData(branches: 3, clients: 2_000).load(into: pool, passwordHash: Self.hash)
                #expect(try await DemoData.isLoaded(pool))
                let logins = try await DemoData.logins(pool)
                #expect(Set(logins.map(\.role)) == Set(Role.allCases))
                let segments = try await pool.query(
                    "select segment, count(*) from huifang.client_segments('2026-11-20') group by segment order by segment"
                ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self)) }
                #expect(segments.map(\.0) == ["core", "dormant", "small_medium"])
                #expect(segments.allSatisfy { $0.1 >= 20 })
                let rich: Int = try await pool.query(
                    "select count(*) from huifang.client_segments('2026-11-20') where high_net_worth").single().decode(0)
                #expect(rich > 0)
                let row = try await pool.query(
                    """
                    select count(*) filter (where referrer_broker_id is not null),
                           count(*) filter (where referrer_staff_id is not null),
                           count(*) filter (where status = 'closed'),
                           count(*) filter (where opened_at > '2026-10-21')
                    from huifang.clients
                    """
                ).single()
                for column in 0..<4 { #expect(try row.decode(column, as: Int.self) > 0, "column \(column)") }
            }
        }
    }

    @Test func demoTasksAreInEveryStateSomeOverdueAndNoneWithTheirReferrer() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let demo = DemoData(branches: 3, clients: 2_000)
                try await demo.load(into: pool, passwordHash: Self.hash)
                // The core system's events: some movements below the thresholds, every other kind qualifying.
                let (events, qualifying, created) = try await demo.loadEvents(into: pool)
                #expect(events > 0 && qualifying < events && created == qualifying)
                let kinds: Int = try await pool.query(
                    "select count(distinct e.kind)::int from huifang.client_events e join huifang.callback_tasks t on t.event_id = e.id"
                ).single().decode(0)
                #expect(kinds == 5)
                try await demo.loadTasks(into: pool)
                let states = Set(try await pool.query("select distinct state from huifang.callback_tasks").map {
                    try $0.decode(0, as: String.self)
                })
                #expect(states == Set(TaskState.allCases.map(\.rawValue)))
                let row = try await pool.query(
                    """
                    select count(*) filter (where t.state in ('open', 'assigned', 'in_progress') and t.due_at < '2026-11-20'),
                           count(*) filter (where t.assignee_staff_id = c.referrer_staff_id),
                           count(distinct t.rule_code)
                    from huifang.callback_tasks t
                    left join huifang.clients c on c.branch_id = t.branch_id and c.id = t.client_id
                    """
                ).single()
                #expect(try row.decode(0, as: Int.self) > 0)
                #expect(try row.decode(1, as: Int.self) == 0)
                #expect(try row.decode(2, as: Int.self) >= 5)

                // Every completed task has its signed record, whose signatures match what it says.
                try await demo.loadRecords(into: pool)
                let records = try await pool.query(
                    """
                    select (select count(*)::int from huifang.callback_tasks where state = 'completed' and record_id is null),
                           (select count(distinct state)::int from huifang.records),
                           (select count(*)::int from huifang.record_signatures g join huifang.records r on r.id = g.record_id
                            where g.content_sha256 <> huifang.record_content_hash(r)),
                           (select count(*)::int from huifang.records where countersigned_by = performer_staff_id),
                           (select count(*)::int from huifang.record_uploads where state = 'submitted' and record_count > 0)
                    """
                ).single()
                #expect(try records.decode(0, as: Int.self) == 0)
                let byState = try await pool.query("select state || ' ' || count(*) from huifang.records group by state").map { try $0.decode(0, as: String.self) }
                #expect(try records.decode(1, as: Int.self) >= 4, "\(byState)")
                #expect(try records.decode(2, as: Int.self) == 0)
                #expect(try records.decode(3, as: Int.self) == 0)
                #expect(try records.decode(4, as: Int.self) > 0)

                // Problems in every state of the workflow, over several departments, some breached.
                try await demo.loadProblems(into: pool)
                let problemStates = Set(try await pool.query("select distinct state from huifang.problems").map { try $0.decode(0, as: String.self) })
                #expect(problemStates == Set(ProblemState.allCases.map(\.rawValue)), "\(problemStates)")
                let spread = try await pool.query(
                    """
                    select (select count(distinct department_id)::int from huifang.problems),
                           (select count(distinct department_id)::int from huifang.problem_forwardings),
                           (select count(*)::int from huifang.problems p join huifang.timers t on t.subject_kind = 'problem' and t.subject_id = p.id
                            where p.state <> 'closed' and t.due_at < now()),
                           (select count(distinct state)::int from huifang.problem_forwardings)
                    """
                ).single()
                #expect(try spread.decode(0, as: Int.self) >= 2 && spread.decode(1, as: Int.self) >= 2)
                #expect(try spread.decode(2, as: Int.self) > 0)
                #expect(try spread.decode(3, as: Int.self) >= 4)

                // The breached list, page by page, is every loop still running past its deadline and every
                // one stopped after it (two walks merged, sql/0064), in deadline order.
                let now = Date()
                let breached = try await pool.query(
                    """
                    select count(*) filter (where stopped_at is null)::int, count(*) filter (where stopped_at is not null)::int,
                           coalesce(array_agg(subject_id order by due_at, branch_id, subject_id), '{}')
                    from huifang.timers where subject_kind = 'problem' and clock = 'problem_loop'
                      and ((stopped_at is null and due_at <= \(now)) or stopped_at > due_at)
                    """
                ).single()
                #expect(try breached.decode(0, as: Int.self) > 0 && breached.decode(1, as: Int.self) > 0, "both kinds of breach")
                var listed: [Int64] = []
                var after: (dueMicros: Int64, branch: Int, id: Int64)?
                var filter = ProblemStore.Filter()
                filter.breached = true
                repeat {
                    let page = try await pool.transaction { try await ProblemStore($0, now: now).list(filter, branches: nil, after: after, limit: 50) }
                    listed += page.items.map(\.id)
                    after = page.next.flatMap { Cursor.decode($0, parts: 3) }.map { ($0[0], Int($0[1]), $0[2]) }
                } while after != nil
                #expect(listed == (try breached.decode(2, as: [Int64].self)))
                // The open ones only (the API's default): the running clocks past their deadline.
                filter.openOnly = true
                let open = try await pool.transaction { try await ProblemStore($0, now: now).list(filter, branches: nil, after: nil, limit: 5_000) }
                let running: [Int64] = try await pool.query(
                    """
                    select coalesce(array_agg(t.subject_id order by t.due_at, t.branch_id, t.subject_id), '{}')
                    from huifang.timers t join huifang.problems p on p.branch_id = t.branch_id and p.id = t.subject_id
                    where t.subject_kind = 'problem' and t.clock = 'problem_loop' and t.stopped_at is null and t.due_at <= \(now)
                      and p.state <> 'closed'
                    """
                ).single().decode(0)
                #expect(!running.isEmpty && open.items.map(\.id) == running)

                // Coverage's kept counts (sql/0061), moved by every step above, equal the tasks counted again.
                let kept = try await pool.query(
                    """
                    with recount as (
                        select t.branch_id, t.period, t.rule_code,
                               case when t.state = 'completed' and r.countersigned_at is not null
                                        then (case when t.closed_at <= t.due_at then 'on_time' else 'late' end)
                                    when t.state = 'completed' then 'awaiting'
                                    when t.state in ('unreachable', 'cancelled') then t.state
                                    else 'open' end as standing,
                               t.due_at, count(*)::int as tasks
                        from huifang.callback_tasks t
                        left join huifang.records r on r.branch_id = t.branch_id and r.id = t.record_id
                        group by 1, 2, 3, 4, 5
                    ), kept as (
                        select branch_id, period, rule_code, standing, due_at, tasks from huifang.coverage_task_counts where tasks > 0
                    )
                    select (select count(*)::int from (select * from recount except select * from kept) d),
                           (select count(*)::int from (select * from kept except select * from recount) d),
                           (select count(distinct standing)::int from kept)
                    """
                ).single()
                #expect(try kept.decode(0, as: Int.self) == 0 && kept.decode(1, as: Int.self) == 0)
                #expect(try kept.decode(2, as: Int.self) == 6, "every standing is kept")
            }
        }
    }

    /// The benchmark volumes top up what is there — signed, uploaded history; open problems with
    /// their clocks and timelines; a campaign's callbacks — and a second run adds nothing.
    @Test func theBenchmarkVolumesTopUpOnceAndStayConsistent() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let demo = DemoData(branches: 3, clients: 1_500)
                try await demo.load(into: pool, passwordHash: Self.hash)
                try await demo.loadTasks(into: pool)
                try await demo.loadRecords(into: pool)
                let volume = DemoData.Volume(records: 5_000, openProblems: 400, runningClocks: 2_000)
                try await demo.loadVolume(volume, into: pool)
                func counts() async throws -> [Int] {
                    let row = try await pool.query(
                        """
                        select (select count(*)::int from huifang.records),
                               (select count(*)::int from huifang.problems where state <> 'closed'),
                               (select count(*)::int from huifang.timers where stopped_at is null)
                        """
                    ).single()
                    return [try row.decode(0), try row.decode(1), try row.decode(2)]
                }
                let first = try await counts()
                #expect(first[0] >= 5_000 && first[1] >= 400 && first[2] >= 2_000, "\(first)")
                try await demo.loadVolume(volume, into: pool)
                #expect(try await counts() == first)
                let checks = try await pool.query(
                    """
                    select (select count(*)::int from huifang.record_signatures g
                            join huifang.records r on r.branch_id = g.branch_id and r.id = g.record_id
                            where g.content_sha256 <> huifang.record_content_hash(r)),
                           (select count(*)::int from huifang.records r where r.task_id is null and r.state = 'archived'
                              and (select count(*) from huifang.record_signatures g where g.branch_id = r.branch_id and g.record_id = r.id) <> 3),
                           (select count(*)::int from huifang.records r join huifang.clients c on c.branch_id = r.branch_id and c.id = r.client_id
                            where r.performer_staff_id = c.referrer_staff_id),
                           (select count(*)::int from huifang.record_uploads where month < '2026' and state <> 'submitted'),
                           (select count(*)::int from huifang.problems p where p.state <> 'closed' and not exists (
                                select from huifang.timers t where t.branch_id = p.branch_id and t.subject_kind = 'problem' and t.subject_id = p.id)),
                           (select count(*)::int from huifang.problems p where p.state <> 'closed' and not exists (
                                select from huifang.problem_events e where e.branch_id = p.branch_id and e.problem_id = p.id)),
                           (select count(*)::int from huifang.problems where state = 'forwarded' and not exists (
                                select from huifang.problem_forwardings f where f.branch_id = problems.branch_id and f.problem_id = problems.id)),
                           (select count(*)::int from huifang.problems where greatest(raised_at, approved_at, updated_at) > now()),
                           (select count(*)::int from huifang.timers where subject_kind = 'record_upload' and stopped_workdays > 15),
                           (select count(*)::int from huifang.records r where not exists (
                                select from huifang.record_keys k where k.branch_id = r.branch_id and k.id = r.id and k.created_at = r.created_at)),
                           (select count(*)::int from huifang.record_keys) - (select count(*)::int from huifang.records)
                    """
                ).single()
                // Signatures match; three per archived history record; nobody called a client they introduced;
                // every history month uploaded; every open problem has its clock and timeline, every forwarded
                // one its forwarding; nothing happens in the future; no upload clock stopped years late;
                // every record written in bulk has its key (sql/0072), and no key is without its record.
                #expect(try (0..<11).map { try checks.decode($0, as: Int.self) } == Array(repeating: 0, count: 11))
            }
        }
    }

    @Test func referrersAlwaysBelongToTheClientsBranch() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                try await DemoData(branches: 4, clients: 1_000).load(into: pool, passwordHash: Self.hash)
                let foreign: Int = try await pool.query(
                    """
                    select count(*) from huifang.clients c
                    left join huifang.staff s on s.id = c.referrer_staff_id
                    left join huifang.brokers b on b.branch_id = c.branch_id and b.id = c.referrer_broker_id
                    where (c.referrer_staff_id is not null and s.home_branch_id is distinct from c.branch_id)
                       or (c.referrer_broker_id is not null and b.id is null)
                    """
                ).single().decode(0)
                #expect(foreign == 0)
                // The ids handed out afterwards continue after the loaded ones.
                let next: Int64 = try await pool.query(
                    """
                    insert into huifang.clients (branch_id, client_no, name, id_type, id_number, opened_at)
                    values (1, 'NEW1', '新客户', 'passport', 'E9999999', now()) returning id
                    """
                ).single().decode(0)
                #expect(next == 1_001)
            }
        }
    }

    @Test func theSameSeedGivesTheSameData() async throws {
        let digests = try await withThrowingTaskGroup(of: String.self) { group in
            for seed: UInt64 in [7, 7, 8] {
                group.addTask {
                    try await TestDatabase.with { database in
                        try await database.withPool { pool in
                            try await DemoData(branches: 2, clients: 300, seed: seed).load(into: pool, passwordHash: Self.hash)
                            return try await pool.query(
                                """
                                select \(String(seed)) || ':' || md5(string_agg((c.id, c.branch_id, c.client_no, c.name, c.id_number, c.phone, c.opened_at, c.status, c.closed_at, c.referrer_staff_id, c.referrer_broker_id)::text, ',' order by c.id))
                                    || md5((select string_agg((s.branch_id, s.client_id, s.as_of, s.total_assets, s.last_trade_date, s.revision)::text, ',' order by s.client_id, s.as_of) from huifang.client_asset_snapshots s))
                                from huifang.clients c
                                """
                            ).single().decode(0)
                        }
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        let bySeed = Dictionary(grouping: digests) { $0.prefix(while: { $0 != ":" }) }
        #expect(Set(bySeed["7"] ?? []).count == 1)
        #expect(bySeed["7"]?.first != bySeed["8"]?.first)
    }
}
