import Foundation
import Postgres

/// Why a task exists: the rule version, the period and window, and — for drawn rules — the recorded
/// population and seed, with the sample re-derived from them to show the task is where it should be.
public struct TaskExplanation: Sendable {
    public var taskId: Int64
    public var branchCode: String
    public var subject: String
    public var ruleCode: String
    public var ruleVersion: Int
    public var ruleTitle: String
    public var articles: String
    public var population: String
    public var coveragePercent: Decimal
    public var effectiveFrom: PostgresDate
    public var period: String
    public var sampleWindow: String
    public var dueAt: Date
    public var state: String
    public var createdAt: Date
    public var directiveId: Int64?
    public var flagId: Int64?
    /// The client event that required this special callback (Art 10), as it was judged on receipt.
    public var event: Event?
    public var draw: Draw?
    /// A replacement (Art 12.1(2), 13.2): the sampled task it replaces, and why that one dropped out.
    public var replacesTaskId: Int64?
    public var replacementReason: String?
    /// The task drawn to replace this one, when it dropped out of its sample.
    public var replacedByTaskId: Int64?

    public struct Event: Sendable {
        public var id: Int64
        public var externalId: String
        public var kind: String
        public var occurredAt: Date
        public var amount: Decimal?
        public var judgement: String
    }

    public struct Draw: Sendable {
        public var id: Int64
        public var number: Int
        public var seed: String
        public var asOf: PostgresDate?
        public var populationSize: Int
        public var required: Int
        public var drawnAt: Date
        /// The snapshots were read as known at this instant (the window's first draw).
        public var knownAt: Date
        /// Corrections of the subject's snapshots (dated up to `asOf`) recorded after `knownAt`: they
        /// do not re-judge the window.
        public var correctionsSince: Int
        /// The subject's place when the recorded population is ordered by (priority, keyed hash).
        public var rank: Int
        /// Drawn to replace a task that dropped out: the next member in the order after the sample.
        public var isReplacement: Bool
        /// Whether re-deriving the sample from seed and population gives this task: rank ≤ required,
        /// or the next member in the order drawn for a task that dropped out.
        public var inSample: Bool { rank <= required || isReplacement }
    }

    public var lines: [String] {
        let time = ISO8601DateFormatter()
        var lines = [
            "task \(taskId) in branch \(branchCode): \(subject)",
            "rule \(ruleCode) version \(ruleVersion) (effective from \(effectiveFrom)): \(ruleTitle) — \(articles)",
            "population: \(population); coverage \(coveragePercent) %",
            "period \(period), window \(sampleWindow); due \(time.string(from: dueAt)); state \(state)",
        ]
        if let directiveId { lines.append("created by HQ directive \(directiveId)") }
        if let flagId { lines.append("created by client flag \(flagId)") }
        if let event {
            lines.append("created by client event \(event.externalId) (id \(event.id)): \(event.kind.replacingOccurrences(of: "_", with: " ")) "
                + "at \(time.string(from: event.occurredAt))\(event.amount.map { " of \($0.twoDecimals) CNY" } ?? "") — \(event.judgement)")
        }
        if let draw {
            lines.append("draw \(draw.number) (id \(draw.id)) at \(time.string(from: draw.drawnAt)): "
                + "population \(draw.populationSize)\(draw.asOf.map { " judged on the snapshot of \($0)" } ?? ""), "
                + "required \(draw.required)")
            lines.append("seed \(draw.seed); order: priority, then sha256(seed:kind:id)")
            if draw.asOf != nil {
                lines.append("snapshots as known at \(time.string(from: draw.knownAt))"
                    + (draw.correctionsSince > 0
                        ? "; \(draw.correctionsSince) correction(s) of this client's snapshots entered since do not re-judge this window"
                        : ""))
            }
            lines.append("re-derived: rank \(draw.rank) of \(draw.populationSize) — "
                + (draw.rank <= draw.required ? "in the sample"
                    : draw.isReplacement ? "after the sample, drawn as a replacement"
                    : "NOT in the sample (the recorded draw does not produce this task)"))
        }
        if let replacesTaskId {
            lines.append("replaces task \(replacesTaskId) (\(replacementReason ?? "")): the next member in the recorded order "
                + "with no task in the window and still open")
        }
        if let replacedByTaskId {
            lines.append("dropped out of the sample; replaced by task \(replacedByTaskId), the next member in the recorded order")
        }
        if draw == nil && ruleCode == "new_account_broker" {
            lines.append("created with the account: every broker-introduced opening is called back (100 %)")
        }
        return lines
    }

    public static func load(_ connection: Connection, taskId: Int64, branches: [Int]?) async throws -> TaskExplanation? {
        let query: SQL =
            """
            select t.id, b.code, coalesce('client ' || c.client_no || ' ' || c.name, 'broker ' || br.agent_no || ' ' || br.name),
                   t.rule_code, t.rule_version, r.title, r.articles, r.population, r.coverage_percent, r.effective_from,
                   t.period, t.sample_window, t.due_at, t.state, t.created_at, t.directive_id, t.flag_id,
                   d.id, d.draw_no, d.seed, d.as_of, d.population_size, d.required, d.drawn_at,
                   (select x.rank from (
                        select m.kind, m.id, row_number() over (
                                   order by case when m.kind = 'client' and m.id = any(d.priority_clients) then 0 else 1 end,
                                            huifang.sample_key(d.seed, m.kind, m.id))::int as rank
                        from (select 'client' as kind, unnest(d.population_clients) as id
                              union all select 'broker', unnest(d.population_brokers)) m
                    ) x where (x.kind, x.id) = (case when t.client_id is not null then 'client' else 'broker' end,
                                                coalesce(t.client_id, t.broker_id))),
                   t.replaces_task_id, t.replacement_reason,
                   (select x.id from huifang.callback_tasks x where x.branch_id = t.branch_id and x.replaces_task_id = t.id),
                   judged.known_at,
                   (select count(*)::int from huifang.client_asset_snapshots s
                    where s.branch_id = t.branch_id and s.client_id = t.client_id and s.revision > 1 and s.as_of <= d.as_of
                      and s.recorded_at > judged.known_at),
                   e.id, e.external_id, e.kind, e.occurred_at, e.amount, e.judgement
            from huifang.callback_tasks t
            join huifang.branches b on b.id = t.branch_id
            join huifang.obligation_rules r on r.code = t.rule_code and r.version = t.rule_version
            left join huifang.clients c on c.branch_id = t.branch_id and c.id = t.client_id
            left join huifang.brokers br on br.branch_id = t.branch_id and br.id = t.broker_id
            left join huifang.obligation_draws d on d.branch_id = t.branch_id and d.id = t.draw_id
            left join huifang.client_events e on e.branch_id = t.branch_id and e.id = t.event_id
            -- The window was judged on the snapshots known at its first draw.
            left join lateral (select min(f.known_at) as known_at from huifang.obligation_draws f
                               where f.branch_id = d.branch_id and f.rule_code = d.rule_code and f.sample_window = d.sample_window
                              ) judged on true
            where
            """ + " " + .branch("t.branch_id", in: branches) + " and t.id = \(taskId)"
        guard let row = try await connection.query(query).first else { return nil }
        var explanation = TaskExplanation(
            taskId: try row.decode(0), branchCode: try row.decode(1), subject: try row.decode(2), ruleCode: try row.decode(3),
            ruleVersion: try row.decode(4), ruleTitle: try row.decode(5), articles: try row.decode(6), population: try row.decode(7),
            coveragePercent: try row.decode(8), effectiveFrom: try row.decode(9), period: try row.decode(10),
            sampleWindow: try row.decode(11), dueAt: try row.decode(12), state: try row.decode(13), createdAt: try row.decode(14),
            directiveId: try row.decode(15), flagId: try row.decode(16), draw: nil, replacesTaskId: try row.decode(25),
            replacementReason: try row.decode(26), replacedByTaskId: try row.decode(27))
        if let eventId: Int64 = try row.decode(30) {
            explanation.event = Event(
                id: eventId, externalId: try row.decode(31), kind: try row.decode(32), occurredAt: try row.decode(33),
                amount: try row.decode(34), judgement: try row.decode(35))
        }
        if let drawId: Int64 = try row.decode(17) {
            explanation.draw = Draw(
                id: drawId, number: try row.decode(18), seed: try row.decode(19), asOf: try row.decode(20),
                populationSize: try row.decode(21), required: try row.decode(22), drawnAt: try row.decode(23),
                knownAt: try row.decode(28), correctionsSince: try row.decode(29),
                rank: try row.decode(24, as: Int?.self) ?? Int.max, isReplacement: explanation.replacesTaskId != nil)
        }
        return explanation
    }
}
