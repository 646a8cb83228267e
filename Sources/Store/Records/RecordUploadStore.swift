import Foundation
import Postgres

/// A branch's monthly upload of countersigned records (Art 15), with its deadline and where it went.
public struct RecordUpload: Sendable {
    public struct Delivery: Sendable {
        public var departmentId: Int
        public var departmentCode: String
        /// compliance (new-account, existing-client, special) or service.
        public var content: String
        public var recordIds: [Int64]
        public var acknowledgedAt: Date?
        public var acknowledgedBy: Int64?
    }

    public var id: Int64
    public var branchId: Int
    public var branchCode: String
    public var month: String
    public var state: String
    public var dueAt: Date?
    public var provisional: Bool
    public var submittedAt: Date?
    public var submittedBy: Int64?
    public var recordCount: Int?
    public var deliveries: [Delivery]

    /// on_time, late (submitted after the deadline), missing (past it, not submitted) or pending.
    public func standing(now: Date) -> String {
        guard let dueAt else { return state == "submitted" ? "on_time" : "pending" }
        if let submittedAt { return submittedAt <= dueAt ? "on_time" : "late" }
        return now >= dueAt ? "missing" : "pending"
    }
}

public struct RecordUploadStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// Opens the month's pending upload in every active branch (idempotent); how many were opened now.
    public func open(month: String) async throws -> Int {
        try await connection.query("select huifang.open_record_uploads(\(month))").single().decode(0)
    }

    public struct Filter: Sendable {
        public var branchId: Int?
        public var month: String?
        /// Uploads delivered to these departments (an HQ inbox).
        public var departmentIds: [Int]?
        public var unacknowledgedOnly = false
        public init() {}
    }

    /// Newest month first, then branch.
    public func list(_ filter: Filter, branches: [Int]?, limit: Int) async throws -> [RecordUpload] {
        var conditions: [SQL] = []
        if let departments = filter.departmentIds {
            conditions.append(
                """
                exists (select from huifang.record_upload_deliveries d where d.branch_id = u.branch_id and d.upload_id = u.id
                        and d.department_id = any(\(departments))
                """ + (filter.unacknowledgedOnly ? " and d.acknowledged_at is null)" : ")"))
        } else {
            conditions.append(.branch("u.branch_id", in: branches))
        }
        if let branch = filter.branchId { conditions.append("u.branch_id = \(branch)") }
        if let month = filter.month { conditions.append("u.month = \(month)") }
        let clockBranches = filter.departmentIds == nil ? branches : nil
        return try await uploads(SQL.joined(conditions, separator: " and "), branches: clockBranches, limit: limit)
    }

    public func get(_ id: Int64, branches: [Int]?, lock: Bool = false) async throws -> RecordUpload? {
        try await uploads(.branch("u.branch_id", in: branches) + " and u.id = \(id)", branches: branches, limit: 1, lock: lock).first
    }

    /// The page is chosen from the uploads alone and only its rows meet their clocks: an HQ
    /// inbox of every branch's months joined 24,358 clocks to show 50 (745 ms at national scale).
    /// `branches`, when the uploads are a branch list's, are named on the clocks too, so that the
    /// join stays on the branch's shard (docs/scaling.md).
    private func uploads(_ condition: SQL, branches: [Int]?, limit: Int, lock: Bool = false) async throws -> [RecordUpload] {
        let page = "select u.* from huifang.record_uploads u where " + condition
            + " order by u.month desc, u.branch_id limit \(limit)" + (lock ? " for update of u" : "")
        let rows = try await connection.query(
            """
            select u.id, u.branch_id, b.code, u.month, u.state, t.due_at, coalesce(t.provisional, false), u.submitted_at,
                   u.submitted_by, u.record_count
            from (
            """ + page + """
            ) u
            join huifang.branches b on b.id = u.branch_id
            left join huifang.timers t on t.branch_id = u.branch_id and t.subject_kind = 'record_upload' and t.subject_id = u.id
                                      and t.clock = 'upload_due' and \(SQL.routed("t.branch_id", to: branches))
            order by u.month desc, u.branch_id
            """)
        var uploads = try rows.map { row in
            RecordUpload(
                id: try row.decode(0), branchId: try row.decode(1), branchCode: try row.decode(2), month: try row.decode(3),
                state: try row.decode(4), dueAt: try row.decode(5), provisional: try row.decode(6), submittedAt: try row.decode(7),
                submittedBy: try row.decode(8), recordCount: try row.decode(9), deliveries: [])
        }
        guard !uploads.isEmpty else { return [] }
        let deliveries = try await connection.query(
            """
            select d.upload_id, d.department_id, dep.code, d.content, d.record_ids, d.acknowledged_at, d.acknowledged_by
            from huifang.record_upload_deliveries d join huifang.departments dep on dep.id = d.department_id
            where d.branch_id = any(\(Array(Set(uploads.map(\.branchId))).sorted()))
              and (d.branch_id, d.upload_id) in (select * from unnest(\(uploads.map { $0.branchId })::int[], \(uploads.map(\.id))::bigint[]))
            order by d.department_id
            """)
        var byUpload: [Int64: [RecordUpload.Delivery]] = [:]
        for row in deliveries {
            byUpload[try row.decode(0), default: []].append(RecordUpload.Delivery(
                departmentId: try row.decode(1), departmentCode: try row.decode(2), content: try row.decode(3),
                recordIds: try row.decode(4), acknowledgedAt: try row.decode(5), acknowledgedBy: try row.decode(6)))
        }
        for index in uploads.indices { uploads[index].deliveries = byUpload[uploads[index].id] ?? [] }
        return uploads
    }

    /// Submits a pending upload: the database collects the records, routes them and stops the clock.
    public func submit(_ upload: RecordUpload) async throws {
        try await connection.execute(
            "update huifang.record_uploads set state = 'submitted' where branch_id = \(upload.branchId) and id = \(upload.id)")
    }

    /// Acknowledges the delivery to `departmentId`; false when there is none visible to acknowledge.
    public func acknowledge(_ upload: RecordUpload, departmentId: Int) async throws -> Bool {
        try await connection.execute(
            """
            update huifang.record_upload_deliveries set acknowledged_at = now()
            where branch_id = \(upload.branchId) and upload_id = \(upload.id) and department_id = \(departmentId)
            """) == 1
    }
}
