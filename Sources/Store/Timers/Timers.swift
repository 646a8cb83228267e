import Foundation
import Postgres

/// Whom a timer's notifications go to: a role in a branch or in an HQ department.
public struct Recipient: Sendable, Hashable, Codable {
    public var role: String
    public var branchId: Int?
    public var departmentId: Int?

    public init(role: String, branchId: Int? = nil, departmentId: Int? = nil) {
        self.role = role
        self.branchId = branchId
        self.departmentId = departmentId
    }
}

/// What a clock is about: e.g. subject ("problem", 42) on clock "problem_loop".
public struct TimerSubject: Sendable, Hashable {
    public var branchId: Int
    public var kind: String
    public var id: Int64
    public var clock: String

    public init(branchId: Int, kind: String, id: Int64, clock: String) {
        self.branchId = branchId
        self.kind = kind
        self.id = id
        self.clock = clock
    }
}

/// Starting and stopping SLA clocks outside a workflow, through `huifang.start_clock` and
/// `huifang.stop_clock`. The workflows start and stop their own clocks in their database triggers,
/// and the request role may call neither function (it never moves a clock: issue 19 A3), so this is
/// for the owner's connections (tools, demo data, tests).
public struct Timers: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public struct Started: Sendable {
        public var id: Int64
        public var dueAt: Date
        public var provisional: Bool
    }

    /// Starts a clock of `workdays` working days from `startedAt`; the schedule (warnings, breach,
    /// escalation) is computed by the database from the calendar.
    @discardableResult
    public func start(
        _ subject: TimerSubject, startedAt: Date, workdays: Int, title: String, notify: [Recipient],
        escalateTo: [Recipient] = [], calendar: String = "cn_workday", warningPoints: [Decimal] = [0.5, 0.75]
    ) async throws -> Started {
        let row = try await connection.query(
            """
            select id, due_at, provisional
            from huifang.start_clock(\(subject.branchId), \(subject.kind), \(subject.id), \(subject.clock), \(calendar),
                                     \(startedAt), \(workdays), \(warningPoints), \(title), \(try JSONB(encoding: notify)),
                                     \(try JSONB(encoding: escalateTo)))
            """
        ).single()
        return Started(id: try row.decode(0), dueAt: try row.decode(1), provisional: try row.decode(2))
    }

    /// Stops a clock, running or done (every stage fired, the work still open): no stage fires after
    /// this transaction commits. False when it was already stopped.
    @discardableResult
    public func stop(_ subject: TimerSubject, reason: String) async throws -> Bool {
        try await connection.query(
            "select huifang.stop_clock(\(subject.branchId), \(subject.kind), \(subject.id), \(reason), \(subject.clock))"
        ).single().decode(0, as: Int.self) == 1
    }
}
