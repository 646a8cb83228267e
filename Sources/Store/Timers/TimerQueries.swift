import Foundation
import Postgres

public struct TimerView: Sendable {
    public var id: Int64
    public var branchId: Int
    public var subjectKind: String
    public var subjectId: Int64
    public var clock: String
    public var calendar: String
    public var title: String
    public var startedAt: Date
    public var workdays: Int
    public var dueAt: Date
    public var provisional: Bool
    public var state: String
    public var nextFireAt: Date?
    public var stageNames: [String]
    public var stageAt: [Date]
    public var firedStages: [String]
    public var stoppedAt: Date?
    public var stopReason: String?
}

/// Reading timers in the transaction's scope.
public struct TimerQueries: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public struct Filter: Sendable {
        public var branchId: Int?
        public var state: String?
        public var clock: String?
        public var subjectKind: String?
        public var subjectId: Int64?
        public var provisional: Bool?
        public init() {}
    }

    /// Ordered by (branch, id); `branches` as in `ClientStore.list`.
    public func list(_ filter: Filter, branches: [Int]?, after: (branch: Int, id: Int64)?, limit: Int) async throws -> Page<TimerView> {
        var conditions: [SQL] = []
        if let branches { conditions.append("branch_id = any(\(branches))") }
        if let branch = filter.branchId { conditions.append("branch_id = \(branch)") }
        if let state = filter.state { conditions.append("state = \(state)") }
        if let clock = filter.clock { conditions.append("clock = \(clock)") }
        if let kind = filter.subjectKind { conditions.append("subject_kind = \(kind)") }
        if let id = filter.subjectId { conditions.append("subject_id = \(id)") }
        if let provisional = filter.provisional { conditions.append("provisional = \(provisional)") }
        if let after { conditions.append("(branch_id, id) > (\(after.branch), \(after.id))") }
        var query: SQL =
            """
            select id, branch_id, subject_kind, subject_id, clock, calendar, title, started_at, workdays, due_at, provisional,
                   state, next_fire_at, stage_names, array(select extract(epoch from x)::text from unnest(stage_at) x),
                   fired_stages, stopped_at, stop_reason
            from huifang.timers
            """
        if !conditions.isEmpty { query = query + " where " + SQL.joined(conditions, separator: " and ") }
        query = query + " order by branch_id, id limit \(limit + 1)"
        let rows = try await connection.query(query).map { row in
            let epochs: [String] = try row.decode(14)
            return TimerView(
                id: try row.decode(0), branchId: try row.decode(1), subjectKind: try row.decode(2), subjectId: try row.decode(3),
                clock: try row.decode(4), calendar: try row.decode(5), title: try row.decode(6), startedAt: try row.decode(7),
                workdays: try row.decode(8), dueAt: try row.decode(9), provisional: try row.decode(10), state: try row.decode(11),
                nextFireAt: try row.decode(12), stageNames: try row.decode(13),
                stageAt: epochs.compactMap(Double.init).map { Date(timeIntervalSince1970: $0) }, firedStages: try row.decode(15),
                stoppedAt: try row.decode(16), stopReason: try row.decode(17))
        }
        return Cursor.page(rows, limit: limit) { Cursor.encode(Int64($0.branchId), $0.id) }
    }
}
