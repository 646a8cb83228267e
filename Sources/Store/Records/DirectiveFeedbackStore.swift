import Foundation
import Postgres

/// The special callback records of a directive going back to the ordering department (Art 14).
public struct DirectiveFeedback: Sendable {
    public var id: Int64
    public var branchId: Int
    public var branchCode: String
    public var directiveId: Int64
    public var directiveTitle: String
    public var departmentId: Int
    public var endedAt: Date
    public var endedBecause: String
    public var dueAt: Date?
    public var provisional: Bool
    public var state: String
    public var recordIds: [Int64]?
    public var sentAt: Date?
    public var sentBy: Int64?
    public var acknowledgedAt: Date?
    public var acknowledgedBy: Int64?
}

public struct DirectiveFeedbackStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// Ends the directives whose due date has passed, in each branch with tasks of them (idempotent).
    public func endDueDirectives() async throws -> Int {
        try await connection.query("select huifang.end_due_directives()").single().decode(0)
    }

    public struct Filter: Sendable {
        public var branchId: Int?
        public var directiveId: Int64?
        /// Packages addressed to these departments (the ordering department's inbox).
        public var departmentIds: [Int]?
        public var state: String?
        public init() {}
    }

    public func list(_ filter: Filter, branches: [Int]?, limit: Int) async throws -> [DirectiveFeedback] {
        var conditions: [SQL] = []
        if let departments = filter.departmentIds {
            conditions.append("f.department_id = any(\(departments))")
        } else {
            conditions.append(.branch("f.branch_id", in: branches))
        }
        if let branch = filter.branchId { conditions.append("f.branch_id = \(branch)") }
        if let directive = filter.directiveId { conditions.append("f.directive_id = \(directive)") }
        if let state = filter.state { conditions.append("f.state = \(state)") }
        return try await packages(SQL.joined(conditions, separator: " and "), limit: limit)
    }

    public func get(_ id: Int64, branches: [Int]?, lock: Bool = false) async throws -> DirectiveFeedback? {
        try await packages(.branch("f.branch_id", in: branches) + " and f.id = \(id)", limit: 1, lock: lock).first
    }

    private func packages(_ condition: SQL, limit: Int, lock: Bool = false) async throws -> [DirectiveFeedback] {
        try await connection.query(
            """
            select f.id, f.branch_id, b.code, f.directive_id, d.title, f.department_id, f.ended_at, f.ended_because, t.due_at,
                   coalesce(t.provisional, false), f.state, f.record_ids, f.sent_at, f.sent_by, f.acknowledged_at, f.acknowledged_by
            from huifang.directive_feedback f
            join huifang.branches b on b.id = f.branch_id
            join huifang.directives d on d.id = f.directive_id
            left join huifang.timers t on t.branch_id = f.branch_id and t.subject_kind = 'directive_feedback' and t.subject_id = f.id
                                      and t.clock = 'feedback_due'
            where
            """ + " " + condition + " order by f.ended_at desc, f.branch_id, f.id limit \(limit)" + (lock ? " for update of f" : "")
        ).map { row in
            DirectiveFeedback(
                id: try row.decode(0), branchId: try row.decode(1), branchCode: try row.decode(2), directiveId: try row.decode(3),
                directiveTitle: try row.decode(4), departmentId: try row.decode(5), endedAt: try row.decode(6),
                endedBecause: try row.decode(7), dueAt: try row.decode(8), provisional: try row.decode(9), state: try row.decode(10),
                recordIds: try row.decode(11), sentAt: try row.decode(12), sentBy: try row.decode(13),
                acknowledgedAt: try row.decode(14), acknowledgedBy: try row.decode(15))
        }
    }

    /// Records of the package's directive in its branch that are not countersigned yet (sending would leave them out).
    public func unsignedRecords(of package: DirectiveFeedback) async throws -> [Int64] {
        try await connection.query(
            """
            select coalesce(array_agg(id order by id), '{}') from huifang.records
            where branch_id = \(package.branchId) and directive_id = \(package.directiveId) and state in ('draft', 'submitted', 'returned')
            """
        ).single().decode(0)
    }

    public func send(_ package: DirectiveFeedback) async throws {
        try await connection.execute(
            "update huifang.directive_feedback set state = 'sent' where branch_id = \(package.branchId) and id = \(package.id)")
    }

    public func acknowledge(_ package: DirectiveFeedback) async throws {
        try await connection.execute(
            "update huifang.directive_feedback set state = 'acknowledged' where branch_id = \(package.branchId) and id = \(package.id)")
    }
}
