import Foundation
import Postgres

/// Brokers (证券经纪人) of the branches in scope.
public struct BrokerStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    private static let columns: SQL = " id, branch_id, agent_no, name, phone, staff_id, status, registered_on"

    private func brokers(_ rows: QueryResult) throws -> [Broker] {
        try rows.map { row in
            Broker(
                id: try row.decode(0), branchId: try row.decode(1), agentNo: try row.decode(2), name: try row.decode(3),
                phone: try row.decode(4), staffId: try row.decode(5), status: try row.decode(6),
                registeredOn: try row.decode(7))
        }
    }

    /// `branches`: the caller's `routingBranches` (nil: row-level security alone decides).
    public func list(
        branchId: Int?, status: String?, branches: [Int]?, after: (branch: Int, id: Int64)?, limit: Int
    ) async throws -> Page<Broker> {
        let afterBranch = after?.branch
        let afterID = after?.id
        let rows = try brokers(
            try await connection.query(
                "select " + Self.columns
                    + """
                     from huifang.brokers
                    where (\(branchId)::int is null or branch_id = \(branchId))
                      and \(SQL.routed("branch_id", to: branches))
                      and (\(status)::text is null or status = \(status))
                      and (\(afterBranch)::int is null or (branch_id, id) > (\(afterBranch), \(afterID)))
                    order by branch_id, id
                    limit \(limit + 1)
                    """))
        return Cursor.page(rows, limit: limit) { Cursor.encode(Int64($0.branchId), $0.id) }
    }

    public func get(_ id: Int64, branches: [Int]?) async throws -> Broker? {
        try brokers(
            try await connection.query(
                "select " + Self.columns
                    + " from huifang.brokers where \(SQL.routed("branch_id", to: branches)) and id = \(id)")
        ).first
    }

    public func create(
        branchId: Int, agentNo: String, name: String, phone: String?, staffId: Int64?, registeredOn: PostgresDate?
    ) async throws -> Broker {
        try brokers(
            try await connection.query(
                """
                insert into huifang.brokers (branch_id, agent_no, name, phone, staff_id, registered_on)
                values (\(branchId), \(agentNo), \(name), \(phone), \(staffId), \(registeredOn))
                returning
                """ + Self.columns))[0]
    }

    public func update(
        _ id: Int64, branches: [Int]?, name: String?, phone: String?, staffId: Int64?, status: String?
    ) async throws -> Broker? {
        try brokers(
            try await connection.query(
                """
                update huifang.brokers set name = coalesce(\(name), name), phone = coalesce(\(phone), phone),
                    staff_id = coalesce(\(staffId), staff_id), status = coalesce(\(status), status), updated_at = now()
                where \(SQL.routed("branch_id", to: branches)) and id = \(id)
                returning
                """ + Self.columns)).first
    }
}
