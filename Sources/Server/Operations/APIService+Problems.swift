import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listProblems(_ input: Operations.ListProblems.Input) async throws -> Operations.ListProblems.Output {
        let access = try authorize(.readProblems)
        let query = input.query
        var filter = ProblemStore.Filter()
        switch try Self.problemQueue(query.queue.map { ProblemQueue(rawValue: $0.rawValue)! }, access) {
        case .triage: filter.departmentIds = access.departmentIds
        case .branch: break
        case .raised: filter.raisedBy = access.staffId
        }
        filter.states = query.state.map { [ProblemState(rawValue: $0.rawValue)!] }
        filter.openOnly = query.open ?? (query.state == nil)
        filter.unclaimed = query.unclaimed == true
        if query.mine == true { filter.assigneeStaffId = access.staffId }
        filter.severity = query.severity?.rawValue
        filter.category = query.category?.rawValue
        filter.branchId = query.branchId.map(Int.init)
        filter.clientId = query.clientId
        filter.breached = query.breached == true
        let after = try Cursors.dueBranchAndID(query.after)
        let limit = try Cursors.limit(query.limit)
        let now = now()
        let page = try await pool.transaction(for: access, adding: ProblemStore.listSettings, readOnly: true) {
            try await ProblemStore($0, now: now).list(filter, branches: access.recordBranches, after: after, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.ProblemSummary.init), next: page.next))))
    }

    func countProblems(_ input: Operations.CountProblems.Input) async throws -> Operations.CountProblems.Output {
        let access = try authorize(.readProblems)
        let triage = try Self.problemQueue(input.query.queue.map { ProblemQueue(rawValue: $0.rawValue)! }, access) == .triage
        let now = now()
        let counts = try await pool.transaction(for: access, readOnly: true) {
            try await ProblemStore($0, now: now).counts(
                departmentIds: triage ? access.departmentIds : nil, branches: access.recordBranches, staffId: access.staffId)
        }
        return .ok(.init(body: .json(.init(
            open: Int32(counts.open), raised: Int32(counts.raised), unclaimed: Int32(counts.unclaimed), mine: Int32(counts.mine),
            infoRequested: Int32(counts.infoRequested), forwarded: Int32(counts.forwarded), toRelay: Int32(counts.toRelay),
            breached: Int32(counts.breached), atRisk: Int32(counts.atRisk)))))
    }

    enum ProblemQueue: String { case triage, branch, raised }

    /// The queue asked for, or the reader's own: an HQ department's triage queue, or the branches'
    /// problems. A department that reads no branch has no branch queue — its problems are those
    /// routed or forwarded to it, in its triage queue and `GET /forwardings` — and counting every
    /// problem of the country to find them cost seconds.
    static func problemQueue(_ asked: ProblemQueue?, _ access: Access) throws -> ProblemQueue {
        switch asked ?? (access.isDepartmentOnly ? .triage : .branch) {
        case .triage:
            guard !access.departmentIds.isEmpty else { throw AppError.forbiddenBecause(.readProblems, "the triage queue is an HQ department's") }
            return .triage
        case .branch:
            guard !access.isDepartmentOnly else {
                throw AppError.forbiddenBecause(
                    .readProblems, "the branch queue is a branch's (or every branch's); an HQ department reads its triage queue and its forwardings")
            }
            return .branch
        case .raised: return .raised
        }
    }

    func getProblem(_ input: Operations.GetProblem.Input) async throws -> Operations.GetProblem.Output {
        let access = try authorize(.readProblems)
        let now = now()
        let detail = try await pool.transaction(for: access, readOnly: true) { db -> Components.Schemas.ProblemDetail? in
            let store = ProblemStore(db, now: now)
            guard let problem = try await store.get(input.path.problemId, branches: access.recordBranches) else { return nil }
            return try Self.detail(problem, try await store.trail(of: problem), access: access)
        }
        guard let detail else { throw AppError.notFound("problem") }
        return .ok(Self.response(detail))
    }

    func raiseProblem(_ input: Operations.RaiseProblem.Input) async throws -> Operations.RaiseProblem.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.description, field: "description", max: 2000))
        let access = try authorize(.raiseProblems)
        let now = now()
        let detail = try await pool.transaction(for: access) { db -> Components.Schemas.ProblemDetail in
            guard let branch = try await RecordStore(db).branch(ofClient: body.clientId, branches: access.branchIds) else {
                throw AppError.notFound("client")
            }
            let store = ProblemStore(db, now: now)
            let id = try await store.raise(
                branchId: branch, clientId: body.clientId, category: body.category.rawValue, severity: body.severity.rawValue,
                description: body.description)
            try await AuditLog(db).record(
                action: "problem.raised", objectType: "problem", objectId: String(id), branchId: branch,
                detail: try JSONB(encoding: ["category": body.category.rawValue, "severity": body.severity.rawValue]))
            guard let (problem, trail) = try await store.reread(id, branchId: branch) else { throw AppError.notFound("problem") }
            return try Self.detail(problem, trail, access: access)
        }
        return .created(Self.response(detail))
    }

    func approveProblem(_ input: Operations.ApproveProblem.Input) async throws -> Operations.ApproveProblem.Output {
        .ok(try await step(input.path.problemId, .approve, ifMatch: input.headers.ifMatch))
    }

    func returnProblem(_ input: Operations.ReturnProblem.Input) async throws -> Operations.ReturnProblem.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.reason(body.reason))
        return .ok(try await step(input.path.problemId, .return, ifMatch: input.headers.ifMatch, .returnReason(body.reason)))
    }

    func resubmitProblem(_ input: Operations.ResubmitProblem.Input) async throws -> Operations.ResubmitProblem.Output {
        var text: String?
        if case .json(let body) = input.body, let given = body.text, !given.isEmpty {
            try Validate.throwing(Validate.text(given, field: "text", max: 2000))
            text = given
        }
        return .ok(try await step(input.path.problemId, .resubmit, ifMatch: input.headers.ifMatch, text.map { .description($0) } ?? .none))
    }

    func claimProblem(_ input: Operations.ClaimProblem.Input) async throws -> Operations.ClaimProblem.Output {
        .ok(try await step(input.path.problemId, .claim, ifMatch: input.headers.ifMatch))
    }

    func assignProblem(_ input: Operations.AssignProblem.Input) async throws -> Operations.AssignProblem.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        return .ok(try await step(input.path.problemId, .assign, ifMatch: input.headers.ifMatch, .assignee(body.staffId)))
    }

    func forwardProblem(_ input: Operations.ForwardProblem.Input) async throws -> Operations.ForwardProblem.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        if let note = body.note { try Validate.throwing(Validate.text(note, field: "note", max: 2000)) }
        let departments = body.departmentIds.map(Int.init)
        guard !departments.isEmpty else { throw AppError.invalid([.init("departmentIds", "names at least one department")]) }
        guard Set(departments).count == departments.count else {
            throw AppError.invalid([.init("departmentIds", "names a department twice")])
        }
        return .ok(try await step(input.path.problemId, .forward, ifMatch: input.headers.ifMatch) { store, problem, db in
            let functional = try await store.functionalDepartments(departments)
            let unknown = departments.enumerated().filter { !functional.contains($0.element) }
            try Validate.throwing(unknown.map { .init("departmentIds[\($0.offset)]", "is not an active functional department") })
            for department in departments {
                let id = try await store.forward(problem, to: department, note: body.note)
                try await AuditLog(db).record(
                    action: "problem.forwarded", objectType: "problem_forwarding", objectId: String(id), branchId: problem.branchId,
                    detail: try JSONB(encoding: ["problem": String(problem.id), "department": String(department)]))
            }
            try await store.take(.forward, on: problem, to: .forwarded)
        })
    }

    func resolveProblem(_ input: Operations.ResolveProblem.Input) async throws -> Operations.ResolveProblem.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.text, field: "text", max: 4000))
        return .ok(try await step(input.path.problemId, .resolve, ifMatch: input.headers.ifMatch, .resolution(body.text)))
    }

    func requestProblemInfo(_ input: Operations.RequestProblemInfo.Input) async throws -> Operations.RequestProblemInfo.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.text, field: "text", max: 4000))
        return .ok(try await step(input.path.problemId, .requestInfo, ifMatch: input.headers.ifMatch, .infoRequest(body.text)))
    }

    func provideProblemInfo(_ input: Operations.ProvideProblemInfo.Input) async throws -> Operations.ProvideProblemInfo.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.text, field: "text", max: 4000))
        return .ok(try await step(input.path.problemId, .provideInfo, ifMatch: input.headers.ifMatch, .infoReply(body.text)))
    }

    func rejectProblem(_ input: Operations.RejectProblem.Input) async throws -> Operations.RejectProblem.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.reason(body.reason))
        return .ok(try await step(input.path.problemId, .reject, ifMatch: input.headers.ifMatch, .rejection(body.reason)))
    }

    func acceptForwardingAnswer(_ input: Operations.AcceptForwardingAnswer.Input) async throws -> Operations.AcceptForwardingAnswer.Output {
        var given: String?
        if case .json(let body) = input.body, let text = body.text, !text.isEmpty {
            try Validate.throwing(Validate.text(text, field: "text", max: 4000))
            given = text
        }
        let note = given
        let forwardingId = input.path.forwardingId
        return .ok(try await step(input.path.problemId, .accept, ifMatch: input.headers.ifMatch, moving: false) { store, problem, db in
            // Accepting an accepted answer again concludes a problem whose other forwardings were
            // settled since (sent back as not theirs, say).
            guard let forwarding = try await store.forwardings(of: problem).first(where: { $0.id == forwardingId }) else {
                throw AppError.notFound("forwarding of this problem")
            }
            if forwarding.state != .accepted {
                _ = try await Self.answeredForwarding(store, forwardingId, of: problem)
                try await store.move(forwarding, to: .accepted, reviewNote: note)
                try await AuditLog(db).record(
                    action: "problem.answer_accepted", objectType: "problem_forwarding", objectId: String(forwarding.id),
                    branchId: problem.branchId)
            }
            // Answered once every forwarding is settled (accepted, misrouted or asked again) and one answer stands.
            let all = try await store.forwardings(of: problem)
            if !all.contains(where: { $0.state.isOpen || $0.state == .answered }) {
                let answers = all.filter { $0.state == .accepted }.compactMap { f in f.answer.map { "[\(f.departmentCode)] \($0)" } }
                try await store.take(.accept, on: problem, to: .answered, .resolution(answers.joined(separator: "\n")))
            }
        })
    }

    func askForwardingAgain(_ input: Operations.AskForwardingAgain.Input) async throws -> Operations.AskForwardingAgain.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.text, field: "text", max: 4000))
        let forwardingId = input.path.forwardingId
        return .ok(try await step(input.path.problemId, .forward, ifMatch: input.headers.ifMatch) { store, problem, db in
            let forwarding = try await Self.answeredForwarding(store, forwardingId, of: problem)
            try await store.move(forwarding, to: .answerRejected, reviewNote: body.text)
            let id = try await store.forward(problem, to: forwarding.departmentId, note: body.text)
            try await AuditLog(db).record(
                action: "problem.asked_again", objectType: "problem_forwarding", objectId: String(id), branchId: problem.branchId,
                detail: try JSONB(encoding: ["previous": String(forwarding.id)]))
            try await store.take(.forward, on: problem, to: .forwarded)
        })
    }

    func relayProblem(_ input: Operations.RelayProblem.Input) async throws -> Operations.RelayProblem.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        if let note = body.note { try Validate.throwing(Validate.text(note, field: "note", max: 2000)) }
        let at = body.relayedAt
        if let at, at > now().addingTimeInterval(60) { throw AppError.invalid([.init("relayedAt", "must not be in the future")]) }
        let action: ProblemAction = body.recipient == .client ? .relayClient : .relay
        return .ok(try await step(input.path.problemId, action, ifMatch: input.headers.ifMatch) { store, problem, _ in
            let done = Set(try await store.relays(of: problem).map(\.recipient))
            if done.contains(body.recipient.rawValue) {
                throw AppError.conflict("the answer was relayed to the \(body.recipient.rawValue) already")
            }
            if action == .relayClient && !done.isSuperset(of: ["branch_leader", "responsible_person"]) {
                throw AppError.conflict("relay the answer to the branch leader and the responsible person before the client")
            }
            if let at, at < problem.raisedAt { throw AppError.invalid([.init("relayedAt", "must not be before the problem was raised")]) }
            // The relay moves the problem itself (the client's closes it), in the same statement.
            try await store.relay(problem, recipient: body.recipient.rawValue, channel: body.channel.rawValue, at: at, note: body.note)
        })
    }

    func reopenProblem(_ input: Operations.ReopenProblem.Input) async throws -> Operations.ReopenProblem.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.reason(body.reason))
        let access = try authorize(.raiseProblems)
        let principal = try signedIn()
        let now = now()
        let detail = try await pool.transaction(for: access) { db -> Components.Schemas.ProblemDetail in
            let store = ProblemStore(db, now: now)
            guard let problem = try await store.get(input.path.problemId, branches: access.branchIds, lock: true) else {
                throw AppError.notFound("problem")
            }
            guard problem.raisedBy == access.staffId || principal.holds(Self.leader(of: problem), inBranch: problem.branchId) else {
                throw AppError.forbiddenBecause(.raiseProblems, "the raiser or the branch leader reopens a problem")
            }
            guard problem.state == .closed, let closed = problem.closedAt,
                  now.timeIntervalSince(closed) <= Double(ProblemTransitions.reopenWithinDays) * 86_400
            else {
                throw AppError.conflict("a problem is reopened within \(ProblemTransitions.reopenWithinDays) days of being closed")
            }
            let id = try await store.reopen(problem, reason: body.reason)
            try await AuditLog(db).record(
                action: "problem.reopened", objectType: "problem", objectId: String(id), branchId: problem.branchId, reason: body.reason,
                detail: try JSONB(encoding: ["reopenedFrom": String(problem.id)]))
            guard let (reopened, trail) = try await store.reread(id, branchId: problem.branchId) else { throw AppError.notFound("problem") }
            return try Self.detail(reopened, trail, access: access)
        }
        return .created(Self.response(detail))
    }

    // MARK: - One step of a problem

    /// Locks the problem, checks the ETag, the transition (409 when the table has none) and who
    /// takes it, applies the step, audits it, and returns the problem as it now is with its new ETag.
    private func step(
        _ id: Int64, _ action: ProblemAction, ifMatch: String?, _ detail: ProblemStore.Detail = .none, moving: Bool = true,
        apply: (@Sendable (ProblemStore, ProblemView, Connection) async throws -> Void)? = nil
    ) async throws -> Components.Responses.ProblemStep {
        let permission: Action =
            switch action {
            case .approve, .return: .approveProblems
            case .resubmit, .provideInfo: .raiseProblems
            default: .triageProblems
            }
        let access = try authorize(permission)
        let principal = try signedIn()
        let now = now()
        let shown = try await pool.transaction(for: access) { db -> Components.Schemas.ProblemDetail in
            let store = ProblemStore(db, now: now)
            guard let problem = try await store.get(id, branches: access.recordBranches, lock: true) else { throw AppError.notFound("problem") }
            try ETag.check(ifMatch, current: ETag.problem(problem))
            guard let (to, actor) = ProblemTransitions.step(from: problem.state, action) else {
                throw AppError.conflict("a problem that is \(problem.state.rawValue) cannot \(action.rawValue)")
            }
            switch actor {
            case .branchLeader:
                guard principal.holds(Self.leader(of: problem), inBranch: problem.branchId) else {
                    throw AppError.forbiddenBecause(permission, "the \(Self.leader(of: problem).rawValue) of the branch decides on this problem")
                }
            case .raiser:
                guard problem.raisedBy == access.staffId || principal.holds(Self.leader(of: problem), inBranch: problem.branchId) else {
                    throw AppError.forbiddenBecause(permission, "the raiser or the branch leader answers for the branch")
                }
            case .hq:
                guard let department = problem.departmentId, access.departmentIds.contains(department) else {
                    throw AppError.forbiddenBecause(permission, "only the HQ department the problem was routed to handles it")
                }
            }
            if let apply {
                try await apply(store, problem, db)
            } else if moving {
                try await store.take(action, on: problem, to: to, detail)
            }
            try await AuditLog(db).record(
                action: "problem.\(action.rawValue)", objectType: "problem", objectId: String(problem.id), branchId: problem.branchId,
                detail: try JSONB(encoding: ["from": problem.state.rawValue]))
            guard let (changed, trail) = try await store.reread(problem.id, branchId: problem.branchId) else {
                throw AppError.notFound("problem")
            }
            return try Self.detail(changed, trail, access: access)
        }
        return Self.response(shown)
    }

    private static func answeredForwarding(_ store: ProblemStore, _ id: Int64, of problem: ProblemView) async throws -> ForwardingView {
        guard let forwarding = try await store.forwardings(of: problem).first(where: { $0.id == id }) else {
            throw AppError.notFound("forwarding of this problem")
        }
        guard forwarding.state == .answered else {
            throw AppError.conflict("forwarding \(id) is \(forwarding.state.rawValue); only an answer is accepted or asked again")
        }
        return forwarding
    }

    static func leader(of problem: ProblemView) -> Role {
        problem.via == "service" ? .marketingDirector : .opsDirector
    }

    /// The problem and its trail as the caller may see them.
    static func detail(_ problem: ProblemView, _ trail: ProblemStore.Trail, access: Access) throws -> Components.Schemas.ProblemDetail {
        let forwardings = trail.forwardings
        var timeline = trail.timeline
        if access.isDepartmentOnly && !(problem.departmentId.map(access.departmentIds.contains) ?? false) {
            // A functional department reads the steps of its own forwardings, not the other departments'.
            let own = Set(forwardings.map(\.id))
            timeline = timeline.filter { $0.forwardingId.map(own.contains) ?? true }
        }
        var shown = Components.Schemas.ProblemSummary(problem)
        if access.isDepartmentOnly && !(problem.departmentId.map(access.departmentIds.contains) ?? false) {
            // A functional department reads what was forwarded to it, not HQ's conclusions nor the branch's exchanges.
            shown.resolution = nil
            shown.infoRequest = nil
            shown.infoReply = nil
            shown.returnReason = nil
            shown.rejectionReason = nil
        }
        return .init(
            problem: shown, forwardings: forwardings.map(Components.Schemas.Forwarding.init),
            relays: trail.relays.map(Components.Schemas.Relay.init),
            timeline: try timeline.map(Components.Schemas.ProblemEvent.init))
    }

    static func response(_ detail: Components.Schemas.ProblemDetail) -> Components.Responses.ProblemStep {
        .init(headers: .init(eTag: detail.problem.etag), body: .json(detail))
    }
}

extension Principal {
    func holds(_ role: Role, inBranch branch: Int) -> Bool {
        grants.contains { $0.role == role && $0.branchId == branch }
    }
}
