import Foundation
import Postgres

/// Checks the hash chains of the audit trail (sql/0012_audit_chain.sql): every event's hash must
/// match its content, name the previous event's hash, and follow it by one; the first event left
/// after archiving names the last one archived; the chain's head (0055) names the last event. Run as
/// the owner.
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
        // A chain whose oldest months were archived (`HistoryArchive`) starts after the last event
        // archived, and must name its hash.
        let rows = try await connection.query(
            """
            with archived as (
                select distinct on (chain) chain, seq, hash from huifang.audit_archived_heads order by chain, seq desc
            ), checked as (
                select e.chain, e.seq, e.id,
                       case
                           when e.seq <> coalesce(lag(e.seq) over w, a.seq, 0) + 1 then 'events before it are missing'
                           when e.prev_hash is distinct from coalesce(lag(e.hash) over w, a.hash) then 'it does not name the previous event''s hash'
                           when e.hash <> huifang.audit_event_hash(e) then 'its content does not match its hash'
                       end as problem
                from huifang.audit_events e
                left join archived a on a.chain = e.chain
            """ + " " + only + """

                window w as (partition by e.chain order by e.seq)
            ), chains as (
                select chain, count(*)::int as events, max(seq) as last from checked group by chain
            ), first_break as (
                select distinct on (chain) chain, seq, id, problem from checked where problem is not null order by chain, seq
            )
            select c.chain, b.code, c.events,
                   coalesce(f.seq, case when h.seq > c.last then c.last + 1 end),
                   coalesce(f.id, case when h.seq > c.last then 0 end),
                   coalesce(f.problem, case when h.seq > c.last then
                       'the chain''s head (huifang.audit_chain_heads) names event #' || h.seq || ': the events after it are missing' end)
            from chains c
            left join first_break f on f.chain = c.chain
            left join huifang.audit_chain_heads h on h.chain = c.chain
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
