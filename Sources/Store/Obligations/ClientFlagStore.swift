import Foundation
import Postgres

/// Flags on a client's key data (Art 12.2); each one gets a verification task at once.
public struct ClientFlagStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public struct Flag: Sendable {
        public var id: Int64
        public var branchId: Int
        public var clientId: Int64
        public var fields: [String]
        public var reason: String
        public var source: String
        public var flaggedAt: Date
        public var taskId: Int64?
    }

    /// Flags an open client the transaction sees as the transaction's staff member; nil when there is no such client.
    public func flag(clientId: Int64, branches: [Int]?, fields: [String], reason: String, source: String) async throws -> Flag? {
        let row = try await connection.query(
            """
            with flag as (
                insert into huifang.client_flags (branch_id, client_id, fields, reason, source, flagged_by)
                select c.branch_id, c.id, \(fields), \(reason), \(source), huifang.scope_staff_id()
                from huifang.clients c
                where
            """ + " " + .branch("c.branch_id", in: branches) + """
                 and c.id = \(clientId) and c.status = 'open'
                returning branch_id, id, client_id, fields, reason, source, flagged_at
            )
            select branch_id, id, client_id, fields, reason, source, flagged_at from flag
            """
        ).first
        guard let row else { return nil }
        var flag = Flag(
            id: try row.decode(1), branchId: try row.decode(0), clientId: try row.decode(2), fields: try row.decode(3),
            reason: try row.decode(4), source: try row.decode(5), flaggedAt: try row.decode(6), taskId: nil)
        // The statement trigger created the task when the insert finished.
        flag.taskId = try await connection.query(
            "select id from huifang.callback_tasks where branch_id = \(flag.branchId) and flag_id = \(flag.id)"
        ).first?.decode(0)
        return flag
    }
}
