import Foundation
import HummingbirdTesting
import Postgres
import Server
import Testing
import TestSupport

/// Issue 22, part 5: no statement of a branch's request path reads two branches' rows, so a Citus
/// coordinator distributing by `branch_id` routes each to the branch's shard (docs/scaling.md).
/// Every statement the database executes while branch A's people work over HTTP — the server's
/// own and those its PL/pgSQL functions, triggers and foreign keys run — is planned with
/// `auto_explain` (`PlanLog`), and every scan of a distributed table in it must be restricted to
/// branch A (`ShardRouting`). HQ's requests in between are not checked: reading every branch is
/// what they are for, and Citus runs them on every shard. Neither are the workers (timers,
/// scheduler, delivery), which do not run here: they claim due rows of every branch by design.
@Suite("A branch's requests route to its own shard")
struct BranchRequestsRouteToOneShardTests {
    /// Why a statement found reading past the branch stays for now (issue 22: what the test found).
    enum Why {
        /// A report (coverage, monitoring, assessment) that joins the branches reference table filtered
        /// by an array parameter: no constant on the distributed table, multi-shard like HQ's.
        case reportOverBranches
        /// A trigger or function joins the rows its statement changed (a transition table, an array)
        /// on branch_id, or reads by a function's arguments the check cannot tell from InitPlans:
        /// one branch's rows, which a coordinator cannot see.
        case triggerRows
        /// Row-level security's check subquery joined on the written row's branch_id: co-located
        /// with the row, but an INSERT's or UPDATE's row is not a scan the check sees.
        case policyOnTheWrittenRow
        /// A reference table's policy reads the branch's rows by the scope's branch list (a
        /// directive is visible to a branch that has tasks of it), a subquery's result the check
        /// cannot tell; the statement itself names the branch.
        case policyOfAReferenceTable
        /// The row is read by whom it names — a notification by its addressee, a delivery through
        /// its channel, an audit event also by its actor — not by the branch scope: naming the
        /// caller's branch in the statement would change who reads it.
        case readByWhoTheRowNames
        /// An event without a branch (a password change) goes to the organization's audit chain 0:
        /// one shard, not the caller's.
        case organizationChain
    }

    /// Statements of the request path that read more than one branch for a branch caller, as the
    /// test found them: the start of the statement's text (lines joined), the table, why. A new
    /// statement that reads past its branch, or one of these on another table, fails the test.
    static let exceptions: [(statement: String, table: String, why: Why)] = [
        ("with tasks as ( select k.branch_id, k.rule_code, k.period, coale", "callback_tasks", .reportOverBranches),  // opsA GET /coverage?period=2026-06
        ("with tasks as ( select k.branch_id, k.rule_code, k.period, coale", "obligation_draws", .reportOverBranches),  // opsA GET /coverage?period=2026-06
        ("with tasks as ( select k.branch_id, k.rule_code, k.period, coale", "clients", .reportOverBranches),  // opsA GET /coverage?period=2026-06
        ("with tasks as ( select k.branch_id, k.rule_code, k.period, coale", "client_asset_snapshots", .reportOverBranches),  // opsA GET /coverage?period=2026-06
        ("with page as (select x.branch_id, x.id from (select id from huif", "timers", .reportOverBranches),  // opsA GET /monitoring/overdue?limit=50
        ("with b as (select id, code from huifang.branches where id = any(", "open_clock_days", .reportOverBranches),  // opsA GET /monitoring/overdue?limit=50
        ("with b as (select id, code from huifang.branches where id = any(", "timers", .reportOverBranches),  // opsA GET /monitoring/overdue?limit=50
        ("select b.id, b.code, case when u.id is null then 'not_opened'", "record_uploads", .reportOverBranches),  // opsA GET /monitoring/uploads?month=2026-06
        ("select b.id, b.code, case when u.id is null then 'not_opened'", "timers", .reportOverBranches),  // opsA GET /monitoring/uploads?month=2026-06
        ("with staff as ( select distinct s.id, s.employee_no, s.name from", "person_month_figures", .reportOverBranches),  // opsA GET /monitoring/people?branchId=1&month=2026-06
        ("with bounds as (select $1::timestamptz as start_at, $2::timestam", "callback_tasks", .reportOverBranches),  // opsA GET /monitoring/assessment?month=2026-06&by=branch
        ("with bounds as (select $1::timestamptz as start_at, $2::timestam", "records", .reportOverBranches),  // opsA GET /monitoring/assessment?month=2026-06&by=branch
        ("with bounds as (select $1::timestamptz as start_at, $2::timestam", "evaluations", .reportOverBranches),  // opsA GET /monitoring/assessment?month=2026-06&by=branch
        ("with bounds as (select $1::timestamptz as start_at, $2::timestam", "evaluation_scores", .reportOverBranches),  // opsA GET /monitoring/assessment?month=2026-06&by=branch
        ("with bounds as (select $1::timestamptz as start_at, $2::timestam", "record_signatures", .reportOverBranches),  // opsA GET /monitoring/assessment?month=2026-06&by=branch
        ("with bounds as (select $1::timestamptz as start_at, $2::timestam", "record_uploads", .reportOverBranches),  // opsA GET /monitoring/assessment?month=2026-06&by=branch
        ("with bounds as (select $1::timestamptz as start_at, $2::timestam", "timers", .reportOverBranches),  // opsA GET /monitoring/assessment?month=2026-06&by=branch
        ("with bounds as (select $1::timestamptz as start_at, $2::timestam", "problems", .reportOverBranches),  // opsA GET /monitoring/assessment?month=2026-06&by=branch
        ("with delta as ( select branch_id, directive_id, state, sum(n)::i", "directive_task_counts", .triggerRows),  // opsA POST /tasks/1/assign
        ("with delta as ( select branch_id, period, rule_code, standing, d", "coverage_task_counts", .triggerRows),  // opsA POST /tasks/1/assign
        ("with task as ( select t.branch_id, t.period, t.rule_code, t.due_", "coverage_task_counts", .triggerRows),  // opsA POST /records/3/countersign
        ("select huifang.coverage_standing(t.state, t.closed_at, t.due_at,", "records", .triggerRows),  // rpA POST /records/3/submit
        ("SELECT huifang.person_month_figures_add(array( select c from add", "records", .triggerRows),  // rpA POST /records/3/submit
        ("with delta as ( select branch_id, subject_kind, due_on, sum(n)::", "open_clock_days", .triggerRows),  // rpA POST /records/3/submit
        ("select case p_kind when 'problem' then (select department_id f", "problems", .triggerRows),  // rpA POST /records/3/submit
        ("select case p_kind when 'problem' then (select department_id f", "problem_forwardings", .triggerRows),  // rpA POST /records/3/submit
        ("select case p_kind when 'problem' then (select department_id f", "callback_tasks", .triggerRows),  // rpA POST /records/3/submit
        ("select case p_kind when 'problem' then (select department_id f", "evaluations", .triggerRows),  // rpA POST /records/3/submit
        ("select case p_kind when 'problem' then (select department_id f", "evaluation_duties", .triggerRows),  // rpA POST /records/3/submit
        ("insert into huifang.problems (branch_id, client_id, finding_id,", "records", .policyOnTheWrittenRow),  // rpA POST /records/3/findings/5/raise
        ("insert into huifang.problems (branch_id, client_id, category, se", "records", .policyOnTheWrittenRow),  // rpA POST /problems
        ("insert into huifang.client_referrers (branch_id, client_id, refe", "brokers", .triggerRows),  // deskA POST /clients
        ("insert into huifang.clients (branch_id, client_no, name, id_type", "callback_tasks", .policyOnTheWrittenRow),  // deskA POST /clients
        ("insert into huifang.callback_tasks (branch_id, rule_code, rule_v", "clients", .triggerRows),  // opsA POST /clients/3/flags
        ("with target as (select branch_id, status from huifang.clients wh", "callback_tasks", .policyOnTheWrittenRow),  // opsA POST /clients/3/close
        ("insert into huifang.brokers (branch_id, agent_no, name, phone, s", "callback_tasks", .policyOnTheWrittenRow),  // opsA POST /brokers
        ("update huifang.brokers set name = coalesce($1, name), phone = co", "callback_tasks", .policyOnTheWrittenRow),  // opsA PATCH /brokers/3
        ("select d.id, d.department_id, d.title, d.purpose, d.questions, d", "callback_tasks", .policyOfAReferenceTable),  // opsA GET /directives?limit=50
        ("select d.id, d.channel_id, d.kind, d.state, d.notification_id, d", "deliveries", .readByWhoTheRowNames),  // opsA GET /deliveries?limit=50
        ("select e.id, e.at, e.actor_staff_id, e.branch_id, e.action, e.ob", "audit_events", .readByWhoTheRowNames),  // managerA GET /audit-events?limit=50
        ("update huifang.clients set name = coalesce($1, name), id_type =", "callback_tasks", .policyOnTheWrittenRow),  // opsA PATCH /clients/3
        ("with flag as ( insert into huifang.client_flags (branch_id, clie", "callback_tasks", .policyOnTheWrittenRow),  // opsA POST /clients/3/flags
        ("with target as ( select branch_id, id from huifang.notifications", "notifications", .readByWhoTheRowNames),  // opsA POST /notifications/31/read
        ("select *           from huifang.audit_chain_heads where chain =", "audit_chain_heads", .organizationChain),  // rpA PUT /me/password
        ("update huifang.audit_chain_heads set seq = new.seq, hash = new.h", "audit_chain_heads", .organizationChain),  // rpA PUT /me/password
    ]

    /// The statement's text on one line, as the failures print it and the exceptions match it.
    static func oneLine(_ query: String) -> String {
        query.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    @Test func everyStatementOfABranchsWorkReadsOnlyThatBranch() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { owner in
                let fixture = try await OrganizationFixture.load(into: owner)
                try await owner.query("select huifang.open_record_uploads('2026-06')")
                return fixture
            }
            try await PlanLog.enable(on: database)
            try await database.withPool(size: 1) { owner in
                let distributed = try await PlanLog.distributedTables(owner)
                #expect(distributed["records"] == "branch_id" && distributed["audit_events"] == "chain", "\(distributed)")
                let known = try await BranchWalk.known(owner, fixture)
                let app = try await buildApplication(try fixtureConfiguration(database, now: Date(timeIntervalSince1970: 1_782_864_000)))
                let log = try await PlanLog.start(owner: owner)
                let (requests, failures) = try await app.test(.router) { client in
                    let walk = BranchWalk(api: APIClient(client: client), log: log, fixture: fixture)
                    try await walk.run(known)
                    return (walk.requests, walk.failures)
                }
                try await log.mark("end")
                #expect(failures.isEmpty, "steps of the walk that did not go through:\n\(failures.joined(separator: "\n"))")

                let branches = Dictionary(requests.map { ($0.name, $0.branch) }, uniquingKeysWith: { a, _ in a })
                var checked = 0
                var statements = 0
                var misses: [String] = []
                for (name, plans) in try await log.plansByRequest() {
                    guard let caller = branches[name], let branch = caller else { continue }
                    checked += 1
                    for plan in plans {
                        let found = ShardRouting.misses(in: plan.root, distributed: distributed, branch: branch).filter { miss in
                            !Self.exceptions.contains { exception in
                                Self.oneLine(plan.query).hasPrefix(exception.statement)
                                    && (miss.table == exception.table || miss.table.hasPrefix(exception.table + "_"))
                            }
                        }
                        statements += found.isEmpty ? 1 : 0
                        for miss in found {
                            misses.append(
                                """
                                \(name)
                                  statement: \(Self.oneLine(plan.query).prefix(400))
                                  \(plan.context.map { "run by: \($0.prefix(200))\n  " } ?? "")table: \(miss)
                                """)
                        }
                    }
                }
                #expect(checked >= 300, "the branch's requests were found in the log: \(checked)")
                #expect(statements >= 1000, "their statements were found in the log: \(statements)")
                #expect(misses.isEmpty, "statements of branch requests that read other branches' rows:\n\(misses.joined(separator: "\n"))")
            }
        }
    }
}
