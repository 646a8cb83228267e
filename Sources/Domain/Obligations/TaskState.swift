/// The life of a callback task. The database enforces the same transitions
/// (`huifang.callback_task_transitions`); a test keeps the two equal.
public enum TaskState: String, Sendable, CaseIterable, Codable {
    case open
    case assigned
    case inProgress = "in_progress"
    case completed
    /// Three failed attempts on different days, closed with a reason: covered but not reached.
    case unreachable
    /// The account closed, the client died, the directive was withdrawn…: not covered.
    case cancelled

    public var isClosed: Bool {
        switch self {
        case .completed, .unreachable, .cancelled: true
        case .open, .assigned, .inProgress: false
        }
    }
}

/// What a person does to a task, and where it takes it.
public enum TaskAction: String, Sendable, CaseIterable {
    case assign, unassign, start, complete, closeUnreachable, cancel
}

public enum TaskTransitions {
    /// state × action → state; an absent pair is refused. Reassigning is `assign` again.
    public static let table: [(from: TaskState, action: TaskAction, to: TaskState)] = [
        (.open, .assign, .assigned),
        (.open, .cancel, .cancelled),
        (.assigned, .assign, .assigned),
        (.assigned, .unassign, .open),
        (.assigned, .start, .inProgress),
        (.assigned, .cancel, .cancelled),
        (.inProgress, .assign, .assigned),
        (.inProgress, .complete, .completed),
        (.inProgress, .closeUnreachable, .unreachable),
        (.inProgress, .cancel, .cancelled),
    ]

    public static func next(from state: TaskState, _ action: TaskAction) -> TaskState? {
        table.first { $0.from == state && $0.action == action }?.to
    }

    /// The distinct (from, to) pairs: what the database's transition table must hold.
    public static var pairs: Set<[String]> {
        Set(table.map { [$0.from.rawValue, $0.to.rawValue] })
    }
}

/// A task is never closed as unreachable before this many failed attempts on different days.
public let unreachableAfterFailedDays = 3
