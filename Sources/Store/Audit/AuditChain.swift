import Foundation
import Postgres

/// Checks the hash chains of the audit trail (sql/0012_audit_chain.sql): every event's hash must
/// match its content, name the previous event's hash, and follow it by one. Run as the owner.
public struct AuditChain: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public struct Report: Sendable, Equatable {
        /// The branch, or nil for the organization-wide chain.
        public var branchId: Int?
        public var branchCode: String?
        public var events: Int
        /// The first event where the chain breaks, and how.
        public var broken: (seq: Int64, id: Int64, reason: String)?

        public static func == (a: Report, b: Report) -> Bool {
            a.branchId == b.branchId && a.events == b.events && a.broken?.seq == b.broken?.seq && a.broken?.reason == b.broken?.reason
        }
    }

    /// Every chain, or only the branch's.
    public func verify(branchId: Int? = nil) async throws -> [Report] {
        let only: SQL = branchId.map { "where e.chain = \($0)" } ?? ""
        let rows = try await connection.query(
            """
            with checked as (
                select e.chain, e.seq, e.id,
                       case
                           when e.seq <> coalesce(lag(e.seq) over w, 0) + 1 then 'events before it are missing'
                           when e.prev_hash is distinct from lag(e.hash) over w then 'it does not name the previous event''s hash'
                           when e.hash <> huifang.audit_event_hash(e) then 'its content does not match its hash'
                       end as problem
                from huifang.audit_events e
            """ + " " + only + """

                window w as (partition by e.chain order by e.seq)
            ), chains as (
                select chain, count(*)::int as events from checked group by chain
            ), first_break as (
                select distinct on (chain) chain, seq, id, problem from checked where problem is not null order by chain, seq
            )
            select c.chain, b.code, c.events, f.seq, f.id, f.problem
            from chains c
            left join first_break f on f.chain = c.chain
            left join huifang.branches b on b.id = c.chain
            order by c.chain
            """)
        return try rows.map { row in
            let chain: Int = try row.decode(0)
            var report = Report(branchId: chain == 0 ? nil : chain, branchCode: try row.decode(1), events: try row.decode(2), broken: nil)
            if let seq: Int64 = try row.decode(3) {
                report.broken = (seq, try row.decode(4), try row.decode(5))
            }
            return report
        }
    }
}
