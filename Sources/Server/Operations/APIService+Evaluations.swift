import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listEvaluations(_ input: Operations.ListEvaluations.Input) async throws -> Operations.ListEvaluations.Output {
        let access = try authorize(.readEvaluations)
        let query = input.query
        let limit = try Cursors.limit(query.limit)
        let now = now()
        let evaluations = try await reports.transaction(for: access) {
            try await EvaluationStore($0, now: now).list(
                year: query.year.map(Int.init), branchId: query.branchId.map(Int.init), state: query.state?.rawValue,
                branches: access.recordBranches, limit: limit)
        }
        return .ok(.init(body: .json(evaluations.map(Components.Schemas.Evaluation.init))))
    }

    func openEvaluation(_ input: Operations.OpenEvaluation.Input) async throws -> Operations.OpenEvaluation.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let access = try authorize(.manageEvaluations)
        let department = try Self.evaluatingDepartment(access, body.departmentId)
        let now = now()
        let evaluation = try await pool.transaction(for: access) { db -> Evaluation in
            guard try await db.query("select from huifang.branches where id = \(Int(body.branchId))").first != nil else {
                throw AppError.invalid([.init("branchId", "there is no such branch")])
            }
            let store = EvaluationStore(db, now: now)
            let id = try await store.open(branchId: Int(body.branchId), departmentId: department, year: Int(body.year))
            try await AuditLog(db).record(
                action: "evaluation.opened", objectType: "evaluation", objectId: String(id), branchId: Int(body.branchId),
                detail: try JSONB(encoding: ["year": String(body.year), "department": String(department)]))
            guard let evaluation = try await store.get(id, branches: [Int(body.branchId)]) else { throw AppError.notFound("evaluation") }
            return evaluation
        }
        return .created(.init(body: .json(.init(evaluation))))
    }

    func listBranchesWithoutEvaluation(_ input: Operations.ListBranchesWithoutEvaluation.Input)
        async throws -> Operations.ListBranchesWithoutEvaluation.Output
    {
        let access = try authorize(.manageEvaluations)
        let department = try Self.evaluatingDepartment(access, input.query.departmentId)
        let now = now()
        let branches = try await reports.transaction(for: access) {
            try await EvaluationStore($0, now: now).branchesWithout(year: Int(input.query.year), departmentId: department)
        }
        return .ok(.init(body: .json(branches.map { .init(branchId: Int32($0.id), branchCode: $0.code) })))
    }

    func getEvaluation(_ input: Operations.GetEvaluation.Input) async throws -> Operations.GetEvaluation.Output {
        let access = try authorize(.readEvaluations)
        let now = now()
        let evaluation = try await pool.transaction(for: access, readOnly: true) {
            try await EvaluationStore($0, now: now).get(input.path.evaluationId, branches: access.recordBranches)
        }
        guard let evaluation else { throw AppError.notFound("evaluation") }
        return .ok(.init(body: .json(.init(evaluation))))
    }

    func scoreEvaluation(_ input: Operations.ScoreEvaluation.Input) async throws -> Operations.ScoreEvaluation.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems: [Problem.FieldError] = []
        var scores: [(criterion: String, score: Decimal, note: String?)] = []
        for (index, item) in body.scores.enumerated() {
            if let note = item.note { problems += Validate.text(note, field: "scores[\(index)].note", max: 2000) }
            guard Patterns.matches(item.score, #"^[0-9]{1,3}(\.[0-9]{1,2})?$"#), let score = Decimal(string: item.score) else {
                problems.append(.init("scores[\(index)].score", "must be a number like 85 or 92.5"))
                continue
            }
            scores.append((item.criterion, score, item.note))
        }
        if Set(body.scores.map(\.criterion)).count != body.scores.count { problems.append(.init("scores", "scores each criterion once")) }
        try Validate.throwing(problems)
        let given = scores
        let evaluation = try await changeEvaluation(input.path.evaluationId, audit: "evaluation.scored") { store, evaluation in
            let known = try await store.criteria()
            try Validate.throwing(body.scores.enumerated().filter { !known.contains($0.element.criterion) }.map {
                .init("scores[\($0.offset)].criterion", "is not one of \(known.sorted().joined(separator: ", "))")
            })
            try await store.setScores(evaluation, given)
        }
        return .ok(.init(body: .json(evaluation)))
    }

    func addEvaluationFinding(_ input: Operations.AddEvaluationFinding.Input) async throws -> Operations.AddEvaluationFinding.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.text, field: "text", max: 2000))
        let evaluation = try await changeEvaluation(input.path.evaluationId, audit: "evaluation.finding_recorded") { store, evaluation in
            try await store.addFinding(evaluation, text: body.text, severity: body.severity.rawValue)
        }
        return .created(.init(body: .json(evaluation)))
    }

    func closeEvaluation(_ input: Operations.CloseEvaluation.Input) async throws -> Operations.CloseEvaluation.Output {
        let evaluation = try await changeEvaluation(input.path.evaluationId, audit: "evaluation.closed") { store, evaluation in
            guard evaluation.state == "open" else { throw AppError.conflict("the evaluation is \(evaluation.state)") }
            let missing = try await store.criteria().subtracting(evaluation.scores.map(\.criterion)).sorted()
            guard missing.isEmpty else {
                throw AppError.conflict("score every criterion before closing; missing: \(missing.joined(separator: ", "))")
            }
            try await store.close(evaluation)
        }
        return .ok(.init(body: .json(evaluation)))
    }

    func publishEvaluation(_ input: Operations.PublishEvaluation.Input) async throws -> Operations.PublishEvaluation.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.summary, field: "summary", max: 4000))
        let evaluation = try await changeEvaluation(input.path.evaluationId, audit: "evaluation.published") { store, evaluation in
            guard evaluation.state == "closed" else {
                throw AppError.conflict(evaluation.state == "open" ? "close the check before publishing its result" : "the result was published already")
            }
            try await store.publish(evaluation, summary: body.summary)
        }
        return .ok(.init(body: .json(evaluation)))
    }

    /// One change of an evaluation by its department, audited; the database checks the same.
    private func changeEvaluation(
        _ id: Int64, audit: String, _ apply: @Sendable @escaping (EvaluationStore, Evaluation) async throws -> Void
    ) async throws -> Components.Schemas.Evaluation {
        let access = try authorize(.manageEvaluations)
        let now = now()
        let evaluation = try await pool.transaction(for: access) { db -> Evaluation in
            let store = EvaluationStore(db, now: now)
            guard let evaluation = try await store.get(id, branches: nil, lock: true), access.departmentIds.contains(evaluation.departmentId) else {
                throw AppError.notFound("evaluation of your department")
            }
            if evaluation.state != "open" && audit != "evaluation.published" && audit != "evaluation.closed" {
                throw AppError.conflict("evaluation \(evaluation.id) is \(evaluation.state) and no longer changes")
            }
            try await apply(store, evaluation)
            try await AuditLog(db).record(action: audit, objectType: "evaluation", objectId: String(evaluation.id), branchId: evaluation.branchId)
            guard let changed = try await store.get(evaluation.id, branches: [evaluation.branchId]) else { throw AppError.notFound("evaluation") }
            return changed
        }
        return .init(evaluation)
    }

    private static func evaluatingDepartment(_ access: Access, _ given: Int32?) throws -> Int {
        if let given {
            guard access.departmentIds.contains(Int(given)) else {
                throw AppError.forbiddenBecause(.manageEvaluations, "you evaluate for your own department only")
            }
            return Int(given)
        }
        guard access.departmentIds.count == 1, let only = access.departmentIds.first else {
            throw AppError.invalid([.init("departmentId", "name the evaluating department: you belong to several")])
        }
        return only
    }
}

extension Components.Schemas.Evaluation {
    init(_ evaluation: Evaluation) {
        self.init(
            id: evaluation.id, branchId: Int32(evaluation.branchId), branchCode: evaluation.branchCode,
            departmentId: Int32(evaluation.departmentId), departmentCode: evaluation.departmentCode, year: Int32(evaluation.year),
            state: .init(rawValue: evaluation.state) ?? .open, openedBy: evaluation.openedBy, openedAt: evaluation.openedAt,
            closedAt: evaluation.closedAt, publishedAt: evaluation.publishedAt, summary: evaluation.summary,
            publishDueAt: evaluation.publishDueAt, publishClock: evaluation.publishClock.flatMap { .init(rawValue: $0) },
            weightedScore: evaluation.weightedScore?.twoDecimals,
            scores: evaluation.scores.map {
                .init(criterion: $0.criterion, score: $0.score.twoDecimals, maxScore: $0.maxScore.twoDecimals, weight: $0.weight.twoDecimals,
                      note: $0.note)
            },
            findings: evaluation.findings.map {
                .init(id: $0.id, text: $0.text, severity: $0.severity, recordedBy: $0.recordedBy, recordedAt: $0.recordedAt)
            })
    }
}
