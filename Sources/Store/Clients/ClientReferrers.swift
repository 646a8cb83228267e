import Foundation
import Postgres

/// One period of a client's referrers (Art 4), from `huifang.client_referrers`.
public struct ClientReferrer: Sendable {
    public var id: Int64
    public var clientId: Int64
    public var referrerStaffId: Int64?
    public var referrerBrokerId: Int64?
    public var brokerStaffId: Int64?
    public var validFrom: Date
    public var validUntil: Date?
    public var changedBy: Int64?
    public var reason: String
    public var endedBy: Int64?
    public var endReason: String?
}

extension ClientStore {
    /// The client's referrer history, oldest first; nil when the client is not in `branches`
    /// (nil `branches`: every branch the row-level policies let the caller read).
    public func referrers(of clientId: Int64, branches: [Int]?) async throws -> [ClientReferrer]? {
        let rows = try await connection.query(
            """
            select r.id, c.id, r.referrer_staff_id, r.referrer_broker_id, r.broker_staff_id, r.valid_from, r.valid_until,
                   r.changed_by, r.reason, r.ended_by, r.end_reason
            from huifang.clients c
            left join huifang.client_referrers r on r.branch_id = c.branch_id and r.client_id = c.id
            where
            """ + " " + .branch("c.branch_id", in: branches) + " and c.id = \(clientId) order by r.valid_from, r.id")
        guard !rows.isEmpty else { return nil }
        return try rows.compactMap { row in
            guard let id: Int64 = try row.decode(0) else { return nil }
            return ClientReferrer(
                id: id, clientId: try row.decode(1), referrerStaffId: try row.decode(2), referrerBrokerId: try row.decode(3),
                brokerStaffId: try row.decode(4), validFrom: try row.decode(5), validUntil: try row.decode(6),
                changedBy: try row.decode(7), reason: try row.decode(8), endedBy: try row.decode(9), endReason: try row.decode(10))
        }
    }
}
