import Foundation
import Postgres

extension DemoData {
    /// What the core system reported over the last two months (Art 10): about one client in 37 had
    /// a large asset movement (some below the rule's thresholds), a password reset, a new business,
    /// an agent change or — a few — closed the account. Each goes through the same trigger as a
    /// real feed, so the qualifying ones have their special callbacks. Deterministic by client id.
    /// Returns (events, qualifying, special callbacks created).
    @discardableResult
    public func loadEvents(into pool: Pool, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> (Int, Int, Int) {
        let today = self.today
        let counts = try await pool.transaction { db in
            try await db.query(
                """
                with picked as (
                    select c.branch_id, c.id, c.opened_at, (c.id / 37) % 10 as k,
                           greatest(c.opened_at + interval '1 hour',
                                    ((\(today)::date - (1 + c.id % 60)::int)::timestamp + interval '10 hours') at time zone 'Asia/Shanghai')
                               as at
                    from huifang.clients c
                    where c.id % 37 = 0 and c.status = 'open'
                )
                insert into huifang.client_events (branch_id, client_id, external_id, kind, occurred_at, amount, detail, source)
                select p.branch_id, p.id, 'CORE-' || p.branch_id || '-' || p.id,
                       case when p.k < 4 then 'large_asset_movement' when p.k = 4 then 'account_closure'
                            when p.k < 7 then 'password_reset' when p.k < 9 then 'new_business' else 'agent_change' end,
                       p.at, case when p.k < 4 then (1 + p.id % 7) * 250000.00 end,
                       jsonb_build_object('channel', (array['counter', 'online', 'phone'])[1 + p.id % 3]), 'import'
                from picked p
                where p.at <= (\(today)::timestamp + interval '18 hours') at time zone 'Asia/Shanghai'
                order by p.branch_id, p.id
                on conflict (branch_id, external_id) do nothing
                """)
            let row = try await db.query(
                """
                select count(*)::int, count(*) filter (where qualifies)::int,
                       (select count(*)::int from huifang.callback_tasks where event_id is not null)
                from huifang.client_events
                """
            ).single()
            return (try row.decode(0, as: Int.self), try row.decode(1, as: Int.self), try row.decode(2, as: Int.self))
        }
        progress("client events: \(counts.0) received, \(counts.1) require a special callback, \(counts.2) callbacks created")
        return counts
    }
}
