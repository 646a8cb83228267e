import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listForwardings(_ input: Operations.ListForwardings.Input) async throws -> Operations.ListForwardings.Output {
        let access = try authorize(.answerForwardings)
        let states = input.query.state.map { [ForwardingState(rawValue: $0.rawValue)!] } ?? [.received, .acknowledged]
        let limit = try Cursors.limit(input.query.limit)
        let after = try Cursors.dueBranchAndID(input.query.after)
        let now = now()
        let page = try await pool.transaction(for: access, adding: ProblemStore.listSettings, readOnly: true) {
            try await ProblemStore($0, now: now).forwardingQueue(departmentIds: access.departmentIds, states: states, after: after, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Forwarding.init), next: page.next))))
    }

    func acknowledgeForwarding(_ input: Operations.AcknowledgeForwarding.Input) async throws -> Operations.AcknowledgeForwarding.Output {
        let forwarding = try await moveForwarding(input.path.forwardingId, to: .acknowledged, ifMatch: input.headers.ifMatch)
        return .ok(.init(headers: .init(eTag: forwarding.etag), body: .json(forwarding)))
    }

    func answerForwarding(_ input: Operations.AnswerForwarding.Input) async throws -> Operations.AnswerForwarding.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.text, field: "text", max: 4000))
        let forwarding = try await moveForwarding(input.path.forwardingId, to: .answered, ifMatch: input.headers.ifMatch, text: body.text)
        return .ok(.init(headers: .init(eTag: forwarding.etag), body: .json(forwarding)))
    }

    func misrouteForwarding(_ input: Operations.MisrouteForwarding.Input) async throws -> Operations.MisrouteForwarding.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.text, field: "text", max: 4000))
        let forwarding = try await moveForwarding(input.path.forwardingId, to: .misrouted, ifMatch: input.headers.ifMatch, text: body.text)
        return .ok(.init(headers: .init(eTag: forwarding.etag), body: .json(forwarding)))
    }

    /// The functional department's steps: only on forwardings to it (404 otherwise), with its ETag,
    /// along `ForwardingState.pairs` (409 otherwise); the database checks the same and stops the clock.
    private func moveForwarding(_ id: Int64, to state: ForwardingState, ifMatch: String?, text: String? = nil) async throws
        -> Components.Schemas.Forwarding
    {
        let access = try authorize(.answerForwardings)
        let now = now()
        return try await pool.transaction(for: access) { db in
            let store = ProblemStore(db, now: now)
            guard let forwarding = try await store.forwarding(id, lock: true), access.departmentIds.contains(forwarding.departmentId) else {
                throw AppError.notFound("forwarding to your department")
            }
            try ETag.check(ifMatch, current: ETag.forwarding(forwarding))
            guard forwarding.state.canBecome(state) else {
                throw AppError.conflict("a forwarding that is \(forwarding.state.rawValue) cannot become \(state.rawValue)")
            }
            try await store.move(
                forwarding, to: state, answer: state == .answered ? text : nil, suggestion: state == .misrouted ? text : nil)
            try await AuditLog(db).record(
                action: "forwarding.\(state.rawValue)", objectType: "problem_forwarding", objectId: String(forwarding.id),
                branchId: forwarding.branchId, detail: try JSONB(encoding: ["problem": String(forwarding.problemId)]))
            guard let moved = try await store.forwarding(id) else { throw AppError.notFound("forwarding") }
            return .init(moved)
        }
    }
}

extension Components.Schemas.ProblemSummary {
    init(_ problem: ProblemView) {
        self.init(
            id: problem.id, etag: ETag.problem(problem), branchId: Int32(problem.branchId), branchCode: problem.branchCode,
            clientId: problem.clientId, clientNo: problem.clientNo, clientName: problem.clientName, recordId: problem.recordId,
            findingId: problem.findingId, category: .init(rawValue: problem.category) ?? .other,
            severity: .init(rawValue: problem.severity) ?? .medium, description: problem.description,
            via: .init(rawValue: problem.via) ?? .compliance, state: .init(rawValue: problem.state.rawValue) ?? .raised,
            departmentId: problem.departmentId.map(Int32.init), departmentCode: problem.departmentCode,
            assigneeStaffId: problem.assigneeStaffId, raisedBy: problem.raisedBy, raisedAt: problem.raisedAt,
            approvedBy: problem.approvedBy, approvedAt: problem.approvedAt, returnReason: problem.returnReason,
            infoRequest: problem.infoRequest, infoReply: problem.infoReply, resolution: problem.resolution,
            rejectionReason: problem.rejectionReason, closedAt: problem.closedAt, reopenedFrom: problem.reopenedFrom,
            reopenReason: problem.reopenReason, version: Int32(problem.version), updatedAt: problem.updatedAt,
            clock: problem.clock.map(Components.Schemas.Clock.init))
    }
}

extension Components.Schemas.Clock {
    init(_ clock: ClockView) {
        self.init(
            clock: clock.clock, workdays: Int32(clock.workdays), dueAt: clock.dueAt, remainingWorkdays: Int32(clock.remainingWorkdays),
            state: .init(rawValue: clock.state) ?? .running, provisional: clock.provisional)
    }
}

extension Components.Schemas.Forwarding {
    init(_ forwarding: ForwardingView) {
        self.init(
            id: forwarding.id, etag: ETag.forwarding(forwarding), problemId: forwarding.problemId,
            departmentId: Int32(forwarding.departmentId), departmentCode: forwarding.departmentCode,
            state: .init(rawValue: forwarding.state.rawValue) ?? .received, forwardedBy: forwarding.forwardedBy,
            receivedAt: forwarding.receivedAt, note: forwarding.note, acknowledgedAt: forwarding.acknowledgedAt, answer: forwarding.answer,
            answeredAt: forwarding.answeredAt, answeredBy: forwarding.answeredBy, suggestion: forwarding.suggestion,
            reviewedAt: forwarding.reviewedAt, reviewNote: forwarding.reviewNote, version: Int32(forwarding.version),
            category: forwarding.category, severity: forwarding.severity, description: forwarding.description,
            clock: forwarding.clock.map(Components.Schemas.Clock.init))
    }
}

extension Components.Schemas.Relay {
    init(_ relay: RelayView) {
        self.init(
            id: relay.id, recipient: .init(rawValue: relay.recipient) ?? .client, channel: relay.channel, relayedAt: relay.relayedAt,
            relayedBy: relay.relayedBy, note: relay.note)
    }
}

extension Components.Schemas.ProblemEvent {
    init(_ event: ProblemEvent) throws {
        self.init(
            id: event.id, at: event.at, actorStaffId: event.actorStaffId, action: event.action, fromState: event.fromState,
            toState: event.toState, forwardingId: event.forwardingId, detail: try event.detail.decode())
    }
}
