/// The life of a callback record (Art 5, 12, 13). The database enforces the same steps
/// (`huifang.record_transitions`), who takes each, and signs them; a test keeps the two equal.
public enum RecordState: String, Sendable, CaseIterable, Codable {
    case draft
    /// Signed by the performer, waiting for the leader.
    case submitted
    /// Sent back by the leader with a reason; the performer corrects and signs again.
    case returned
    /// Signed by the leader: immutable from here on; a correction is an amendment.
    case countersigned
    /// Filed by the ops director (or S&T HQ for its own callbacks).
    case archived

    /// The answers can still change (by the performer).
    public var isEditable: Bool { self == .draft || self == .returned }
    /// Countersigned or archived: what it says is final.
    public var isFinal: Bool { self == .countersigned || self == .archived }
}

/// A step of a record's life, and who takes it.
public enum RecordStep: String, Sendable, CaseIterable {
    case submit, countersign, `return`, archive

    public enum Signer: Sendable, Equatable {
        /// The person who performed the callback.
        case performer
        /// The leader the record names (`leaderRole`), never the performer.
        case leader
        /// The archiving director (`archiverRole`).
        case archiver
    }

    /// The audit trail's name for the step taken.
    public var auditAction: String {
        switch self {
        case .submit: "record.submitted"
        case .countersign: "record.countersigned"
        case .return: "record.returned"
        case .archive: "record.archived"
        }
    }

    public var signer: Signer {
        switch self {
        case .submit: .performer
        case .countersign, .return: .leader
        case .archive: .archiver
        }
    }
}

public enum RecordTransitions {
    /// state × step → state; an absent pair is refused.
    public static let table: [(from: RecordState, step: RecordStep, to: RecordState)] = [
        (.draft, .submit, .submitted),
        (.returned, .submit, .submitted),
        (.submitted, .countersign, .countersigned),
        (.submitted, .return, .returned),
        (.countersigned, .archive, .archived),
    ]

    public static func next(from state: RecordState, _ step: RecordStep) -> RecordState? {
        table.first { $0.from == state && $0.step == step }?.to
    }

    /// (from, to, step) as the database's transition table must hold them.
    public static var rows: Set<[String]> {
        Set(table.map { [$0.from.rawValue, $0.to.rawValue, $0.step.rawValue] })
    }
}

/// Who countersigns and who archives a record (Art 12, 13): the ops director for new-account,
/// existing-client and special records; the marketing director for service records, which the
/// ops director then archives; S&T HQ for the callbacks it owns (brokers, ≥ 10M clients).
public enum RecordSignOff {
    public static func leader(formCode: String, ownedByHQ: Bool) -> Role {
        if ownedByHQ { return .salesTradingHQ }
        return formCode == "service" ? .marketingDirector : .opsDirector
    }

    public static func archiver(ownedByHQ: Bool) -> Role {
        ownedByHQ ? .salesTradingHQ : .opsDirector
    }
}
