import Foundation
import Postgres

/// An entry of the audit trail.
public struct AuditEvent: Sendable {
    public var id: Int64
    public var at: Date
    public var actorStaffId: Int64?
    public var branchId: Int?
    public var action: String
    public var objectType: String
    public var objectId: String?
    public var reason: String?
    public var detail: JSONB
}

/// Appends to and reads `huifang.audit_events`, always inside the transaction of the change it records.
public struct AuditLog: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// Records an event as the transaction's staff member (the policy refuses any other actor), with
    /// the transaction's COMMIT: the branch's chain is locked from its append to the commit, so the
    /// append goes last, in the commit's round trip, and writers of a branch wait for each other
    /// that long only. A refusal of it is the commit's error.
    public func record(
        action: String, objectType: String, objectId: String?, branchId: Int? = nil, reason: String? = nil,
        detail: JSONB = JSONB(text: "{}")
    ) async throws {
        connection.sendWithCommit(Self.insert(action, objectType, objectId, branchId, reason, detail))
    }

    /// Records an event now and returns its id, for an answer that names it; the chain stays locked
    /// from here to the commit.
    public func recordNow(
        action: String, objectType: String, objectId: String?, branchId: Int? = nil, reason: String? = nil,
        detail: JSONB = JSONB(text: "{}")
    ) async throws -> Int64 {
        try await connection.query(Self.insert(action, objectType, objectId, branchId, reason, detail) + " returning id").single().decode(0)
    }

    private static func insert(
        _ action: String, _ objectType: String, _ objectId: String?, _ branchId: Int?, _ reason: String?, _ detail: JSONB
    ) -> SQL {
        """
        insert into huifang.audit_events (actor_staff_id, branch_id, action, object_type, object_id, reason, detail)
        values (huifang.scope_staff_id(), \(branchId), \(action), \(objectType), \(objectId), \(reason), \(detail))
        """
    }

    public struct Filter: Sendable {
        public var branchId: Int?
        public var action: String?
        public var objectType: String?
        public var objectId: String?
        public init(branchId: Int? = nil, action: String? = nil, objectType: String? = nil, objectId: String? = nil) {
            self.branchId = branchId
            self.action = action
            self.objectType = objectType
            self.objectId = objectId
        }
    }

    /// What the list's transaction adds: plan once per connection. Planning over every month's
    /// partition (136 on ten years) cost more than walking the newest; the page size is written into
    /// the statement, so the plan knows it.
    public static let listSettings = Pool.genericPlans

    /// Newest first (by time, then id); `before` is the previous page's last (time in microseconds,
    /// id). `branches`: the reader's branches, nil when it reads every branch.
    ///
    /// The trail is partitioned by month, so "newest first" walks the newest month's time index
    /// and stops at a page, whatever the years kept. A reader of some branches sees those branches'
    /// events and the events it made itself (the policy's two reaches): a walk per branch and one of
    /// its own, merged, rather than every event of every branch filtered by the policy.
    public func list(_ filter: Filter, branches: [Int]?, before: (micros: Int64, id: Int64)?, limit: Int) async throws -> Page<AuditEvent> {
        let columns: SQL = "e.id, e.at, e.actor_staff_id, e.branch_id, e.action, e.object_type, e.object_id, e.reason, e.detail"
        // Only the filters given, so that a plan made once per connection (`listSettings`) has each
        // key to walk; an optional filter written as "$1 is null or …" left the generic plan no index.
        var conditions: [SQL] = []
        if let branch = filter.branchId { conditions.append("e.branch_id = \(branch)") }
        if let action = filter.action { conditions.append("e.action = \(action)") }
        if let objectType = filter.objectType { conditions.append("e.object_type = \(objectType)") }
        if let objectId = filter.objectId { conditions.append("e.object_id = \(objectId)") }
        if let before { conditions.append("(e.at, e.id) < (" + .timestamp(microseconds: before.micros) + ", \(before.id))") }
        let matching = conditions.isEmpty ? SQL("true") : SQL.joined(conditions, separator: " and ")
        let newest: SQL = " order by e.at desc, e.id desc" + .pageLimit(limit)
        let query: SQL
        if let branches {
            let eachBranch: SQL = "select x.* from unnest(\(branches)::int[]) b(id) cross join lateral (select " + columns
                + " from huifang.audit_events e where e.branch_id = b.id and " + matching + newest + ") x"
            let own: SQL = "select " + columns + " from huifang.audit_events e where e.actor_staff_id = huifang.scope_staff_id() and "
                + matching + newest
            query = "select " + columns + " from ((" + eachBranch + ") union (" + own + ")) e" + newest
        } else {
            query = "select " + columns + " from huifang.audit_events e where " + matching + newest
        }
        let events = try await connection.query(query).map { row in
            AuditEvent(
                id: try row.decode(0), at: try row.decode(1), actorStaffId: try row.decode(2), branchId: try row.decode(3),
                action: try row.decode(4), objectType: try row.decode(5), objectId: try row.decode(6),
                reason: try row.decode(7), detail: try row.decode(8))
        }
        return Cursor.page(events, limit: limit) { Cursor.byTime($0.at, $0.id) }
    }
}
