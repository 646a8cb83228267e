import Domain
import Foundation
import Postgres

/// Problems, their forwardings, relays and timeline, in the transaction's scope. Which step may
/// follow which, who takes it, the clocks and the notices are the database's
/// (sql/0015_problem_workflow.sql); this layer reads and asks.
public struct ProblemStore: Sendable {
    public let connection: Connection
    /// The instant clocks are judged at (running, met, breached; working days left).
    public let now: Date

    public init(_ connection: Connection, now: Date) {
        self.connection = connection
        self.now = now
    }

    /// What a list's transaction adds: plan once per connection. A page's walk is decided by the
    /// statement's shape, not by its values (the page size is written into it), and planning the
    /// page with its joins and policies cost more than running it (14 ms against 11 for a branch).
    public static let listSettings = Pool.genericPlans

    // Reading

    public func get(_ id: Int64, branches: [Int]?, lock: Bool = false) async throws -> ProblemView? {
        try await connection.query(getSQL(id, branches: branches, lock: lock)).first.map(ProblemView.init(row:))
    }

    private func getSQL(_ id: Int64, branches: [Int]?, lock: Bool) -> SQL {
        "select " + ProblemView.columns(now: now) + " from huifang.problems p " + ProblemView.joins
            + " where " + .branch("p.branch_id", in: branches) + " and p.id = \(id)" + (lock ? " for update of p" : "")
    }

    public struct Filter: Sendable {
        /// An HQ department's queue: problems routed to these departments.
        public var departmentIds: [Int]?
        public var branchId: Int?
        public var states: [ProblemState]?
        /// Only open ones (not closed).
        public var openOnly = false
        public var unclaimed = false
        public var assigneeStaffId: Int64?
        public var raisedBy: Int64?
        public var severity: String?
        public var category: String?
        /// Only those past their 15-working-day deadline and not closed in time.
        public var breached = false
        public var clientId: Int64?
        public init() {}
    }

    /// Ordered by the 15-day deadline, then (branch, id); `after` is the previous page's last.
    ///
    /// The page's keys come from walking the problems' clocks in deadline order (a problem's
    /// 15-day clock runs exactly while it is open, and carries its department), so a queue of
    /// 50,000 open problems costs a page, not a sort of all of them. An HQ member of several
    /// departments walks each department's queue and merges the pages. A list of one person's
    /// problems (raised by them, held by them) starts from that person's problems instead: they are
    /// few, and a walk of every clock would skip nearly all it reads.
    public func list(_ filter: Filter, branches: [Int]?, after: (dueMicros: Int64, branch: Int, id: Int64)?, limit: Int)
        async throws -> Page<ProblemView>
    {
        var clock: [SQL] = ["t.subject_kind = 'problem'", "t.clock = 'problem_loop'"]
        var problem: [SQL] = []
        if filter.departmentIds != nil {
            clock.append("t.department_id = queue.department_id")
            problem.append("p.department_id = queue.department_id")
        } else if let branches {
            clock.append(.branchKey("t.branch_id", in: branches))
        }
        if let branch = filter.branchId { clock.append("t.branch_id = \(branch)") }
        if let states = filter.states { problem.append("p.state = any(\(states.map(\.rawValue)))") }
        if filter.openOnly {
            // An HQ queue holds routed problems only.
            problem.append(filter.departmentIds != nil ? "p.state not in ('closed', 'raised', 'returned')" : "p.state <> 'closed'")
        }
        if filter.unclaimed { problem.append("p.state = 'at_hq' and p.assignee_staff_id is null") }
        // Whose problems: applied by the walk of the clocks, and by `mine` when it reads them first.
        var whose: [SQL] = []
        if let staff = filter.assigneeStaffId { whose.append("p.assignee_staff_id = \(staff)") }
        if let staff = filter.raisedBy { whose.append("p.raised_by = \(staff)") }
        if let severity = filter.severity { problem.append("p.severity = \(severity)") }
        if let category = filter.category { problem.append("p.category = \(category)") }
        if let client = filter.clientId { problem.append("p.client_id = \(client)") }
        if let after {
            clock.append(
                "(t.due_at, t.branch_id, t.subject_id) > (" + .timestamp(microseconds: after.dueMicros) + ", \(after.branch), \(after.id))")
        }
        // A problem's clock runs exactly while it is open and has stopped once it is closed, so the
        // running and the stopped clocks are two walks in deadline order (timers_open_problem_loops,
        // timers_closed_problem_loops), merged when both are asked for. A breached clock is one still
        // running past its deadline or one stopped after it (timers_problem_loops_stopped_late): one
        // walk of every problem clock kept the breached half of them and sorted it (500 ms nationally).
        let running: [SQL] = filter.breached ? ["t.stopped_at is null", "t.due_at <= \(now)::timestamptz"] : ["t.stopped_at is null"]
        let stopped: [SQL] = filter.breached ? ["t.stopped_at > t.due_at"] : ["t.stopped_at is not null"]
        let openOnly = filter.openOnly || filter.states.map { !$0.contains(.closed) } == true
        let walks = (filter.states == [.closed] ? [] : [running]) + (openOnly ? [] : [stopped])
        // Closed and open at once: nothing.
        guard !walks.isEmpty else { return Page(items: [], next: nil) }
        // One person's problems (raised by them, held by them) are read first and their clocks probed
        // when they are few: a walk of every clock skipped all 100,000 of them for an HQ reader who
        // raised none (65–90 ms). When they are many, a walk of the clocks finds them soon. Which of the
        // two runs is decided by counting up to `few` of them, not by the planner's estimate.
        // What a person holds open is keyed (problems_held_by); what they held and closed is not.
        var person = whose + (filter.assigneeStaffId != nil && openOnly ? ["p.state <> 'closed'"] : [])
        if let branches, filter.departmentIds == nil { person.append("p.branch_id = any(\(branches))") }
        // The branches named again wherever the rows are read: neither a department's queue nor the
        // materialized list of a person's problems says which branch it reads (docs/scaling.md).
        func routed(_ column: String) -> SQL { filter.departmentIds == nil ? .routed(column, to: branches) : "true" }
        let byPerson = !whose.isEmpty
        let mineCount: SQL = "(select count(*) from mine)", few: SQL = " \(unescaped: String(Self.fewProblems))"
        let manyGuard: [SQL] = byPerson ? [mineCount + " >" + few] : []
        let probed = "p.state, p.department_id, p.assignee_staff_id, p.raised_by, p.severity, p.category, p.client_id"
        func probe(_ branch: String, _ id: String) -> SQL {
            Self.probe("problems", as: "p", returning: probed, branch: branch, id: id, also: routed("p.branch_id"))
        }
        func walk(_ more: [SQL]) -> SQL {
            "select t.branch_id, t.subject_id, t.due_at from huifang.timers t " + probe("t.branch_id", "t.subject_id")
                + " where " + SQL.joined(clock + more + manyGuard + problem + whose, separator: " and ")
                + " order by t.due_at, t.branch_id, t.subject_id" + .pageLimit(limit)
        }
        func merged(_ walks: [SQL]) -> SQL {
            walks.count == 1
                ? walks[0]
                : "select u.branch_id, u.subject_id, u.due_at from (" + SQL.joined(walks.map { "(" + $0 + ")" }, separator: " union all ")
                    + ") u order by u.due_at, u.branch_id, u.subject_id" + .pageLimit(limit)
        }
        var keys = merged(walks.map(walk))
        var mine: SQL = ""
        if byPerson {
            // One more than `few`, so that the count tells which walk runs.
            mine = "with mine as materialized (select p.branch_id, p.id from huifang.problems p where "
                + SQL.joined(person, separator: " and ") + " limit \(unescaped: String(Self.fewProblems + 1))) "
            let anyClock = "((" + SQL.joined(walks.map { SQL.joined($0, separator: " and ") }, separator: ") or (") + "))"
            let fromMine: SQL = "select t.branch_id, t.subject_id, t.due_at from mine " + probe("mine.branch_id", "mine.id")
                + " cross join lateral (select t.branch_id, t.subject_id, t.due_at from huifang.timers t"
                + " where t.branch_id = mine.branch_id and " + routed("t.branch_id") + " and t.subject_id = mine.id and "
                + SQL.joined(clock, separator: " and ")
                + " and " + anyClock + " offset 0) t where " + SQL.joined(problem + [mineCount + " <=" + few], separator: " and ")
                + " order by t.due_at, t.branch_id, t.subject_id" + .pageLimit(limit)
            keys = merged([fromMine, keys])
        }
        let source: SQL = filter.departmentIds.map { Self.perDepartment($0, keys) } ?? "(" + keys + ") as k"
        let query = mine + "select " + ProblemView.columns(now: now) + " from " + source
            + " join huifang.problems p on p.branch_id = k.branch_id and p.id = k.subject_id and " + routed("p.branch_id") + " "
            + ProblemView.joins
            + " order by t.due_at, p.branch_id, p.id" + .pageLimit(limit)
        let problems = try await connection.query(query).map(ProblemView.init(row:))
        return Cursor.page(problems, limit: limit) { Cursor.byDeadline($0.clock?.dueAt, $0.branchId, $0.id) }
    }

    public struct Counts: Sendable, Equatable {
        public var open = 0
        public var raised = 0
        public var unclaimed = 0
        public var mine = 0
        public var infoRequested = 0
        public var forwarded = 0
        public var toRelay = 0
        public var breached = 0
        public var atRisk = 0
    }

    /// How many problems each queue holds (departments: an HQ inbox; else the branches in scope, or
    /// every branch row-level security lets through). The states and holders are summed from the kept
    /// totals (sql/0070; counting every open problem in reach took 70–100 ms nationally), the
    /// deadlines on the running clocks as two ranges of the deadline (passed;
    /// not yet, with the second warning passed), each from an index alone.
    /// (A department that reads no branch counts its triage queue only: what is forwarded to it,
    /// which the totals do not tell, it reads in `GET /forwardings`.)
    public func counts(departmentIds: [Int]?, branches: [Int]?, staffId: Int64) async throws -> Counts {
        func scope(_ table: String) -> SQL {
            departmentIds.map { "\(unescaped: table).department_id = any(\($0))" }
                ?? branches.map { "\(unescaped: table).branch_id = any(\($0))" } ?? "true"
        }
        // An HQ queue holds routed problems only.
        func routed(_ table: String) -> SQL {
            scope(table) + (departmentIds == nil ? "" : " and \(unescaped: table).state not in ('raised', 'returned')")
        }
        let openLoops: SQL = "from huifang.timers t where t.subject_kind = 'problem' and t.clock = 'problem_loop' and t.stopped_at is null and "
        let row = try await connection.query(
            """
            select coalesce(sum(k.problems), 0)::int,
                   coalesce(sum(k.problems) filter (where k.state = 'raised'), 0)::int,
                   coalesce(sum(k.problems) filter (where k.state = 'at_hq' and k.assignee_staff_id is null), 0)::int,
                   coalesce(sum(k.problems) filter (where k.assignee_staff_id = \(staffId)), 0)::int,
                   coalesce(sum(k.problems) filter (where k.state = 'info_requested'), 0)::int,
                   coalesce(sum(k.problems) filter (where k.state = 'forwarded'), 0)::int,
                   coalesce(sum(k.problems) filter (where k.state in ('answered', 'rejected')), 0)::int,
                   (select count(*)::int
            """ + " " + openLoops + scope("t") + " and t.due_at <= \(now)::timestamptz),"
                + " (select count(*)::int " + openLoops + scope("t")
                + " and t.due_at > \(now)::timestamptz and t.stage_at[2] <= \(now)::timestamptz)"
                + " from huifang.problem_state_totals k where " + routed("k")
        ).single()
        return Counts(
            open: try row.decode(0), raised: try row.decode(1), unclaimed: try row.decode(2), mine: try row.decode(3),
            infoRequested: try row.decode(4), forwarded: try row.decode(5), toRelay: try row.decode(6), breached: try row.decode(7),
            atRisk: try row.decode(8))
    }

    /// Folds the problems' state totals the trigger appended into one row per key, counted again from
    /// the problems; how many rows it folded (0 while another server folds).
    @discardableResult
    public static func recountStateTotals(pool: Pool) async throws -> Int {
        try await pool.query("select huifang.recount_problem_state_totals()").single().decode(0, as: Int.self)
    }

    public func forwardings(of problem: ProblemView) async throws -> [ForwardingView] {
        try await connection.query(forwardingsSQL(ofProblem: problem.id, branch: problem.branchId)).map(ForwardingView.init(row:))
    }

    private func forwardingsSQL(ofProblem problem: Int64, branch: Int) -> SQL {
        forwardingsSQL("f.branch_id = \(branch) and f.problem_id = \(problem)", order: "f.id", limit: 100)
    }

    public func forwarding(_ id: Int64, lock: Bool = false) async throws -> ForwardingView? {
        try await forwardings("f.branch_id in (select id from huifang.branches) and f.id = \(id)", order: "f.id", limit: 1, lock: lock).first
    }

    /// A functional department's queue: what was forwarded to it and is not answered, by deadline.
    /// Keyset-paged by (deadline, branch, id); `after` is the previous page's last.
    public func forwardingQueue(
        departmentIds: [Int], states: [ForwardingState], after: (dueMicros: Int64, branch: Int, id: Int64)?, limit: Int
    ) async throws -> Page<ForwardingView> {
        let after: SQL = after.map {
            " and (t.due_at, t.branch_id, t.subject_id) > (" + .timestamp(microseconds: $0.dueMicros) + ", \($0.branch), \($0.id))"
        } ?? ""
        // Each department's answer clocks, walked by deadline (as `list`): the running ones for the open
        // states, every one for the answered and closed (a forwarding's clock starts with it), so a
        // page reads its own rows rather than sorting all the department ever answered.
        let running: SQL = states.allSatisfy(\.isOpen) ? " and t.stopped_at is null" : ""
        // Each clock's forwarding is probed by its key, as in `list`.
        let keys: SQL = "select t.branch_id, t.subject_id as id from huifang.timers t "
            + Self.probe("problem_forwardings", as: "f", returning: "f.department_id, f.state", branch: "t.branch_id", id: "t.subject_id")
            + " where t.department_id = queue.department_id and t.subject_kind = 'problem_forwarding'"
            + " and t.clock = 'forwarding_answer'" + running + after
            + " and f.department_id = queue.department_id and f.state = any(\(states.map(\.rawValue)))"
            + " order by t.due_at, t.branch_id, t.subject_id" + .pageLimit(limit)
        let items = try await connection.query(
            "select " + ForwardingView.columns(now: now) + " from " + Self.perDepartment(departmentIds, keys)
                + " join huifang.problem_forwardings f on f.branch_id = k.branch_id and f.id = k.id " + ForwardingView.joins
                + " order by t.due_at, f.branch_id, f.id" + .pageLimit(limit)
        ).map(ForwardingView.init(row:))
        return Cursor.page(items, limit: limit) { Cursor.byDeadline($0.clock?.dueAt, $0.branchId, $0.id) }
    }

    /// How many of one person's problems a list reads first, before it walks the clocks instead.
    static let fewProblems = 1_000

    /// `columns` of the row of `huifang.<table>` (as `alias`) with key (`branch`, `id`), for
    /// each row of the walk around it. `offset 0` keeps it a probe by that key and keeps the walk's
    /// filters outside it: joined on (branch, id), the planner multiplies the two columns'
    /// selectivities as if they were independent, expects a few dozen rows where there are 100,000,
    /// and sorts them all (250 ms on the national set) instead of walking the first page; given a
    /// filter inside, it probed by the key that filter names (the raiser's), reading all of a
    /// raiser's problems for each clock (400 ms for 3,700).
    private static func probe(_ table: String, as alias: String, returning columns: String, branch: String, id: String, also: SQL = "true")
        -> SQL
    {
        "cross join lateral (select \(unescaped: columns) from huifang.\(unescaped: table) \(unescaped: alias)"
            + " where \(unescaped: alias).branch_id = \(unescaped: branch) and " + also
            + " and \(unescaped: alias).id = \(unescaped: id) offset 0) \(unescaped: alias)"
    }

    /// `keys` — one page of (branch, id) in deadline order, naming `queue.department_id` — for each
    /// department, as `k`: the pages are merged by the query around it.
    private static func perDepartment(_ departments: [Int], _ keys: SQL) -> SQL {
        "unnest(\(departments)::integer[]) as queue(department_id) cross join lateral (" + keys + ") as k"
    }

    private func forwardings(_ condition: SQL, order: String, limit: Int, lock: Bool = false) async throws -> [ForwardingView] {
        try await connection.query(forwardingsSQL(condition, order: order, limit: limit, lock: lock)).map(ForwardingView.init(row:))
    }

    private func forwardingsSQL(_ condition: SQL, order: String, limit: Int, lock: Bool = false) -> SQL {
        "select " + ForwardingView.columns(now: now) + " from huifang.problem_forwardings f " + ForwardingView.joins + " where "
            + condition + " order by \(unescaped: order) limit \(limit)" + (lock ? " for update of f" : "")
    }

    public func relays(of problem: ProblemView) async throws -> [RelayView] {
        try await connection.query(Self.relaysSQL(problem.branchId, problem.id)).map(Self.relay)
    }

    private static func relaysSQL(_ branch: Int, _ problem: Int64) -> SQL {
        """
        select id, recipient, channel, relayed_at, relayed_by, note from huifang.problem_relays
        where branch_id = \(branch) and problem_id = \(problem) order by id
        """
    }

    private static func relay(_ row: Row) throws -> RelayView {
        RelayView(
            id: try row.decode(0), recipient: try row.decode(1), channel: try row.decode(2), relayedAt: try row.decode(3),
            relayedBy: try row.decode(4), note: try row.decode(5))
    }

    private static func timelineSQL(_ branch: Int, _ problem: Int64) -> SQL {
        """
        select id, at, actor_staff_id, action, from_state, to_state, forwarding_id, detail from huifang.problem_events
        where branch_id = \(branch) and problem_id = \(problem) order by id
        """
    }

    private static func event(_ row: Row) throws -> ProblemEvent {
        ProblemEvent(
            id: try row.decode(0), at: try row.decode(1), actorStaffId: try row.decode(2), action: try row.decode(3),
            fromState: try row.decode(4), toState: try row.decode(5), forwardingId: try row.decode(6), detail: try row.decode(7))
    }

    /// What a problem's page shows besides the problem itself.
    public struct Trail: Sendable {
        public var forwardings: [ForwardingView]
        public var timeline: [ProblemEvent]
        public var relays: [RelayView]
    }

    /// The problem's forwardings, timeline and relays, in one round trip.
    public func trail(of problem: ProblemView) async throws -> Trail {
        let results = try await connection.queries(trailSQL(problem.branchId, problem.id))
        return try Self.trail(results)
    }

    /// The problem as it is now and its trail, in one round trip: the page a step answers with,
    /// read after the step's writes (`branchId` is the problem's, known from before them).
    public func reread(_ id: Int64, branchId: Int) async throws -> (ProblemView, Trail)? {
        let results = try await connection.queries([getSQL(id, branches: [branchId], lock: false)] + trailSQL(branchId, id))
        guard let row = results[0].first else { return nil }
        return (try ProblemView(row: row), try Self.trail(Array(results.dropFirst())))
    }

    private func trailSQL(_ branch: Int, _ problem: Int64) -> [SQL] {
        [forwardingsSQL(ofProblem: problem, branch: branch), Self.timelineSQL(branch, problem), Self.relaysSQL(branch, problem)]
    }

    private static func trail(_ results: [QueryResult]) throws -> Trail {
        Trail(
            forwardings: try results[0].map(ForwardingView.init(row:)), timeline: try results[1].map(Self.event),
            relays: try results[2].map(Self.relay))
    }

    // Changing

    /// A problem raised on a client of the branch, not from a record.
    public func raise(branchId: Int, clientId: Int64, category: String, severity: String, description: String) async throws -> Int64 {
        try await connection.query(
            """
            insert into huifang.problems (branch_id, client_id, category, severity, description)
            values (\(branchId), \(clientId), \(category), \(severity), \(description)) returning id
            """
        ).single().decode(0)
    }

    /// The linked follow-up of a closed problem (the client is not satisfied).
    public func reopen(_ problem: ProblemView, reason: String) async throws -> Int64 {
        try await connection.query(
            """
            insert into huifang.problems (branch_id, client_id, category, severity, description, reopened_from, reopen_reason)
            values (\(problem.branchId), \(problem.clientId), \(problem.category), \(problem.severity),
                    \("Follow-up of problem \(problem.id): " + reason), \(problem.id), \(reason))
            returning id
            """
        ).single().decode(0)
    }

    /// What a step writes besides the state.
    public enum Detail: Sendable {
        case none
        case returnReason(String)
        case description(String)
        case assignee(Int64)
        case infoRequest(String)
        case infoReply(String)
        case resolution(String)
        case rejection(String)
    }

    /// Takes `action`; the database checks the transition and the actor, bumps the version, and writes the timeline.
    public func take(_ action: ProblemAction, on problem: ProblemView, to state: ProblemState, _ detail: Detail = .none) async throws {
        let column: SQL =
            switch detail {
            case .none: ""
            case .returnReason(let text): ", return_reason = \(text)"
            case .description(let text): ", description = \(text)"
            case .assignee(let staff): ", assignee_staff_id = \(staff)"
            case .infoRequest(let text): ", info_request = \(text)"
            case .infoReply(let text): ", info_reply = \(text)"
            case .resolution(let text): ", resolution = \(text)"
            case .rejection(let text): ", rejection_reason = \(text)"
            }
        try await connection.execute(
            "update huifang.problems set state = \(state.rawValue), last_action = \(action.rawValue)" + column
                + " where branch_id = \(problem.branchId) and id = \(problem.id)")
    }

    public func forward(_ problem: ProblemView, to departmentId: Int, note: String?) async throws -> Int64 {
        try await connection.query(
            """
            insert into huifang.problem_forwardings (branch_id, problem_id, department_id, note)
            values (\(problem.branchId), \(problem.id), \(departmentId), \(note)) returning id
            """
        ).single().decode(0)
    }

    /// Moves a forwarding on (the database checks the step and who takes it).
    public func move(_ forwarding: ForwardingView, to state: ForwardingState, answer: String? = nil, suggestion: String? = nil,
                     reviewNote: String? = nil) async throws
    {
        var sets: SQL = "state = \(state.rawValue)"
        if let answer { sets = sets + ", answer = \(answer)" }
        if let suggestion { sets = sets + ", suggestion = \(suggestion)" }
        if let reviewNote { sets = sets + ", review_note = \(reviewNote)" }
        try await connection.execute(
            "update huifang.problem_forwardings set " + sets + " where branch_id = \(forwarding.branchId) and id = \(forwarding.id)")
    }

    /// Records a relay (now, unless `at` says when); its trigger moves the problem, closing it for the client.
    public func relay(_ problem: ProblemView, recipient: String, channel: String, at: Date?, note: String?) async throws {
        try await connection.execute(
            """
            insert into huifang.problem_relays (branch_id, problem_id, recipient, channel, relayed_at, note)
            values (\(problem.branchId), \(problem.id), \(recipient), \(channel), coalesce(\(at)::timestamptz, now()), \(note))
            """)
    }

    /// Departments of a kind by id, to check forwarding targets.
    public func functionalDepartments(_ ids: [Int]) async throws -> Set<Int> {
        Set(try await connection.query(
            "select id from huifang.departments where id = any(\(ids)) and kind = 'functional' and status = 'active'"
        ).map { try $0.decode(0, as: Int.self) })
    }
}
