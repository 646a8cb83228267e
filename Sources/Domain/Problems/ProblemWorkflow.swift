/// Where a problem (问题 / 需求) stands on its way from the responsible person to HQ, a
/// functional department and back to the client (Art 17–19).
public enum ProblemState: String, Sendable, CaseIterable, Codable {
    /// Raised by the responsible person; waits for the branch leader's approval.
    case raised
    /// Sent back to the raiser with a reason.
    case returned
    /// Approved and routed to an HQ department; nobody there has claimed it.
    case atHQ = "at_hq"
    /// Claimed by (or assigned to) someone in the HQ department.
    case inTriage = "in_triage"
    /// HQ asked the branch for more information (the 15-day clock keeps running).
    case infoRequested = "info_requested"
    /// Forwarded to one or more functional departments.
    case forwarded
    /// HQ has the answer (its own, or accepted from the departments): to be relayed.
    case answered
    /// Not actionable, with a reason: relayed like an answer.
    case rejected
    /// Relayed to the client: the 15-day clock stopped.
    case closed
}

/// Who takes a step: the branch leader the problem names (the ops director, or the marketing
/// director for findings of service callbacks), the raiser (or that leader), or the receiving HQ department.
public enum ProblemActor: String, Sendable {
    case branchLeader = "branch_leader"
    case raiser
    case hq
}

public enum ProblemAction: String, Sendable, CaseIterable {
    case approve, `return`, resubmit, claim, assign, forward, accept, resolve
    case requestInfo = "request_info"
    case provideInfo = "provide_info"
    case reject, relay
    case relayClient = "relay_client"
}

public enum ProblemTransitions {
    /// state × action → state, and who takes it; an absent pair is refused (409).
    public static let table: [(from: ProblemState, action: ProblemAction, to: ProblemState, actor: ProblemActor)] = [
        (.raised, .approve, .atHQ, .branchLeader),
        (.raised, .return, .returned, .branchLeader),
        (.returned, .resubmit, .raised, .raiser),
        (.atHQ, .claim, .inTriage, .hq),
        (.atHQ, .assign, .inTriage, .hq),
        (.inTriage, .assign, .inTriage, .hq),
        (.atHQ, .forward, .forwarded, .hq),
        (.inTriage, .forward, .forwarded, .hq),
        (.forwarded, .forward, .forwarded, .hq),
        (.forwarded, .accept, .answered, .hq),
        (.atHQ, .resolve, .answered, .hq),
        (.inTriage, .resolve, .answered, .hq),
        (.atHQ, .requestInfo, .infoRequested, .hq),
        (.inTriage, .requestInfo, .infoRequested, .hq),
        (.infoRequested, .provideInfo, .inTriage, .raiser),
        (.atHQ, .reject, .rejected, .hq),
        (.inTriage, .reject, .rejected, .hq),
        (.infoRequested, .reject, .rejected, .hq),
        (.answered, .relay, .answered, .hq),
        (.rejected, .relay, .rejected, .hq),
        (.answered, .relayClient, .closed, .hq),
        (.rejected, .relayClient, .closed, .hq),
    ]

    public static func step(from state: ProblemState, _ action: ProblemAction) -> (to: ProblemState, actor: ProblemActor)? {
        table.first { $0.from == state && $0.action == action }.map { ($0.to, $0.actor) }
    }

    /// (from, action, to, actor) as the database's transition table must hold them.
    public static var rows: Set<[String]> {
        Set(table.map { [$0.from.rawValue, $0.action.rawValue, $0.to.rawValue, $0.actor.rawValue] })
    }

    /// A closed problem may be reopened (as a linked follow-up) within this many days.
    public static let reopenWithinDays = 30
}

/// A forwarding to a functional department: its own 2-working-day clock from receipt to answer.
public enum ForwardingState: String, Sendable, CaseIterable, Codable {
    case received, acknowledged, answered, accepted
    /// HQ asked the department again: closed, and a new forwarding (new clock) takes its place.
    case answerRejected = "answer_rejected"
    /// "Not ours", with a suggestion: closed as misrouted, not as answered; HQ forwards again.
    case misrouted

    public var isOpen: Bool { self == .received || self == .acknowledged }

    public static let pairs: [(from: ForwardingState, to: ForwardingState)] = [
        (.received, .acknowledged), (.received, .answered), (.acknowledged, .answered),
        (.received, .misrouted), (.acknowledged, .misrouted), (.answered, .accepted), (.answered, .answerRejected),
    ]

    public func canBecome(_ next: ForwardingState) -> Bool {
        Self.pairs.contains { $0.from == self && $0.to == next }
    }
}

/// The 15 working days from raising to the relay to the client (Art 19); 2 per forwarding (Art 18).
public enum ProblemClocks {
    public static let loopWorkdays = 15
    public static let forwardingWorkdays = 2
}
