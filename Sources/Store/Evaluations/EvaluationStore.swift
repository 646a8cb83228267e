import Foundation
import Postgres

/// A check of a branch's callback work by an HQ department (Art 16).
public struct Evaluation: Sendable {
    public struct Score: Sendable, Equatable {
        public var criterion: String
        public var score: Decimal
        public var maxScore: Decimal
        public var weight: Decimal
        public var note: String?
    }

    public struct Finding: Sendable {
        public var id: Int64
        public var text: String
        public var severity: String
        public var recordedBy: Int64
        public var recordedAt: Date
    }

    public var id: Int64
    public var branchId: Int
    public var branchCode: String
    public var departmentId: Int
    public var departmentCode: String
    public var year: Int
    public var state: String
    public var openedBy: Int64
    public var openedAt: Date
    public var closedAt: Date?
    public var publishedAt: Date?
    public var summary: String?
    /// The 10-working-day publishing clock, from closing.
    public var publishDueAt: Date?
    /// running, met or breached (once closed).
    public var publishClock: String?
    public var scores: [Score] = []
    public var findings: [Finding] = []

    /// Σ score / max × weight over the criteria scored, out of the total weight (0–100).
    public var weightedScore: Decimal? {
        guard !scores.isEmpty else { return nil }
        let weights = scores.reduce(Decimal(0)) { $0 + $1.weight }
        let points = scores.reduce(Decimal(0)) { $0 + $1.score / $1.maxScore * $1.weight }
        return weights == 0 ? nil : points / weights * 100
    }
}

public struct EvaluationStore: Sendable {
    public let connection: Connection
    public let now: Date

    public init(_ connection: Connection, now: Date) {
        self.connection = connection
        self.now = now
    }

    public func open(branchId: Int, departmentId: Int, year: Int) async throws -> Int64 {
        try await connection.query(
            "insert into huifang.evaluations (branch_id, department_id, year) values (\(branchId), \(departmentId), \(year)) returning id"
        ).single().decode(0)
    }

    public func get(_ id: Int64, branches: [Int]?, lock: Bool = false) async throws -> Evaluation? {
        guard var evaluation = try await evaluations(.branch("e.branch_id", in: branches) + " and e.id = \(id)", limit: 1, lock: lock).first
        else { return nil }
        evaluation.scores = try await connection.query(
            """
            select s.criterion, s.score, c.max_score, c.weight, s.note from huifang.evaluation_scores s
            join huifang.evaluation_criteria c on c.code = s.criterion
            where s.branch_id = \(evaluation.branchId) and s.evaluation_id = \(evaluation.id) order by c.position
            """
        ).map { Evaluation.Score(criterion: try $0.decode(0), score: try $0.decode(1), maxScore: try $0.decode(2), weight: try $0.decode(3), note: try $0.decode(4)) }
        evaluation.findings = try await connection.query(
            """
            select id, text, severity, recorded_by, recorded_at from huifang.evaluation_findings
            where branch_id = \(evaluation.branchId) and evaluation_id = \(evaluation.id) order by id
            """
        ).map { Evaluation.Finding(id: try $0.decode(0), text: try $0.decode(1), severity: try $0.decode(2), recordedBy: try $0.decode(3), recordedAt: try $0.decode(4)) }
        return evaluation
    }

    public func list(year: Int?, branchId: Int?, state: String?, branches: [Int]?, limit: Int) async throws -> [Evaluation] {
        var conditions: [SQL] = [.branch("e.branch_id", in: branches)]
        if let year { conditions.append("e.year = \(year)") }
        if let branchId { conditions.append("e.branch_id = \(branchId)") }
        if let state { conditions.append("e.state = \(state)") }
        return try await evaluations(SQL.joined(conditions, separator: " and "), limit: limit)
    }

    private func evaluations(_ condition: SQL, limit: Int, lock: Bool = false) async throws -> [Evaluation] {
        try await connection.query(
            """
            select e.id, e.branch_id, b.code, e.department_id, d.code, e.year, e.state, e.opened_by, e.opened_at, e.closed_at,
                   e.published_at, e.summary, t.due_at,
                   case when t.id is null then null
                        when t.stopped_at is not null then (case when t.stopped_at <= t.due_at then 'met' else 'breached' end)
                        when \(now)::timestamptz >= t.due_at then 'breached' else 'running' end
            from huifang.evaluations e
            join huifang.branches b on b.id = e.branch_id
            join huifang.departments d on d.id = e.department_id
            left join huifang.timers t on t.branch_id = e.branch_id and t.subject_kind = 'evaluation' and t.subject_id = e.id
            where
            """ + " " + condition + " order by e.year desc, b.code, e.id limit \(limit)" + (lock ? " for update of e" : "")
        ).map { row in
            Evaluation(
                id: try row.decode(0), branchId: try row.decode(1), branchCode: try row.decode(2), departmentId: try row.decode(3),
                departmentCode: try row.decode(4), year: try row.decode(5), state: try row.decode(6), openedBy: try row.decode(7),
                openedAt: try row.decode(8), closedAt: try row.decode(9), publishedAt: try row.decode(10), summary: try row.decode(11),
                publishDueAt: try row.decode(12), publishClock: try row.decode(13))
        }
    }

    /// Replaces the scores (the database refuses once the evaluation is closed, or above a criterion's maximum).
    public func setScores(_ evaluation: Evaluation, _ scores: [(criterion: String, score: Decimal, note: String?)]) async throws {
        try await connection.execute(
            "delete from huifang.evaluation_scores where branch_id = \(evaluation.branchId) and evaluation_id = \(evaluation.id)")
        for score in scores {
            try await connection.execute(
                """
                insert into huifang.evaluation_scores (branch_id, evaluation_id, criterion, score, note)
                values (\(evaluation.branchId), \(evaluation.id), \(score.criterion), \(score.score), \(score.note))
                """)
        }
    }

    public func addFinding(_ evaluation: Evaluation, text: String, severity: String) async throws {
        try await connection.execute(
            """
            insert into huifang.evaluation_findings (branch_id, evaluation_id, text, severity)
            values (\(evaluation.branchId), \(evaluation.id), \(text), \(severity))
            """)
    }

    public func close(_ evaluation: Evaluation) async throws {
        try await connection.execute(
            "update huifang.evaluations set state = 'closed' where branch_id = \(evaluation.branchId) and id = \(evaluation.id)")
    }

    public func publish(_ evaluation: Evaluation, summary: String) async throws {
        try await connection.execute(
            """
            update huifang.evaluations set state = 'published', summary = \(summary)
            where branch_id = \(evaluation.branchId) and id = \(evaluation.id)
            """)
    }

    public func criteria() async throws -> Set<String> {
        Set(try await connection.query("select code from huifang.evaluation_criteria").map { try $0.decode(0, as: String.self) })
    }

    /// Active branches without an evaluation of `year` by `departmentId` (Art 16: at least one a year).
    public func branchesWithout(year: Int, departmentId: Int) async throws -> [(id: Int, code: String)] {
        try await connection.query(
            """
            select b.id, b.code from huifang.branches b
            where b.status = 'active' and not exists (
                select from huifang.evaluations e where e.branch_id = b.id and e.department_id = \(departmentId) and e.year = \(year))
            order by b.code
            """
        ).map { (try $0.decode(0), try $0.decode(1)) }
    }
}
