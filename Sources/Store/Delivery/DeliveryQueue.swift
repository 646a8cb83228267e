import Domain
import Foundation
import Postgres

/// The delivery engine's side of the database, with the engine's scope (`huifang.system`): claims due
/// deliveries, records each attempt and its outcome, composes the daily digest, counts what is dead.
public struct DeliveryQueue: Sendable {
    public let pool: Pool

    public init(pool: Pool) {
        self.pool = pool
    }

    /// A claimed delivery: everything its message needs, the channel's secret included.
    public struct Claim: Sendable {
        public var id: Int64
        /// This claim's attempt number (1 for the first).
        public var attempt: Int
        public var pendingSince: Date
        public var kind: DeliveryKind
        public var channelId: Int64
        public var channelKind: ChannelKind
        public var url: String?
        public var secret: String?
        public var addresses: [String]?
        public var facts: DeliveryFacts
    }

    /// A claimed batch, with the admins' host exceptions as they were when it was claimed.
    public struct Batch: Sendable {
        public var claims: [Claim]
        /// By host: (http allowed, private addresses allowed).
        public var allowances: [String: (http: Bool, privateAddresses: Bool)]
    }

    /// Claims up to `limit` due deliveries for `lease`: no other worker takes them meanwhile; past it,
    /// one that was not recorded is due again (its worker died), which is what makes delivery at least once.
    public func claim(limit: Int, lease: Duration) async throws -> Batch {
        let seconds = Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18
        return try await pool.transaction(settings: SLAEngine.settings) { db in
            let claims = try await db.query(
                """
                select id, attempt, pending_since, kind, channel_id, channel_kind, url, secret, addresses, facts
                from huifang.claim_deliveries(\(limit), make_interval(secs => \(seconds)))
                """
            ).map { row in
                Claim(
                    id: try row.decode(0), attempt: try row.decode(1), pendingSince: try row.decode(2),
                    kind: DeliveryKind(rawValue: try row.decode(3)) ?? .handoff, channelId: try row.decode(4),
                    channelKind: ChannelKind(rawValue: try row.decode(5)) ?? .webhook, url: try row.decode(6),
                    secret: try row.decode(7), addresses: try row.decode(8, as: [String]?.self),
                    facts: try row.decode(9, as: JSONB.self).decode(DeliveryFacts.self))
            }
            guard !claims.isEmpty else { return Batch(claims: [], allowances: [:]) }
            var allowances: [String: (http: Bool, privateAddresses: Bool)] = [:]
            for row in try await db.query("select host, allow_http, allow_private from huifang.delivery_allowed_hosts") {
                allowances[try row.decode(0)] = (try row.decode(1), try row.decode(2))
            }
            return Batch(claims: claims, allowances: allowances)
        }
    }

    /// How one attempt ended.
    public struct Attempt: Sendable {
        public enum Outcome: String, Sendable {
            case delivered
            /// The receiver failed or did not answer: tried again.
            case failed
            /// The safety rules refused the target: tried again too (an admin may fix the URL or allow the host).
            case refused
        }
        public var outcome: Outcome
        public var startedAt: Date
        public var latency: Duration
        public var statusCode: Int?
        public var error: String?
        public var responseExcerpt: String?

        public init(outcome: Outcome, startedAt: Date, latency: Duration, statusCode: Int? = nil, error: String? = nil,
                    responseExcerpt: String? = nil) {
            self.outcome = outcome
            self.startedAt = startedAt
            self.latency = latency
            self.statusCode = statusCode
            self.error = error
            self.responseExcerpt = responseExcerpt
        }
    }

    /// What happens next after a failed attempt.
    public enum Next: Sendable {
        case retry(at: Date)
        case dead
    }

    /// Records each attempt of a batch in one transaction, and — unless another worker claimed the
    /// delivery since (this worker's lease ran out) — its outcome: delivered, due again at `next`, or
    /// dead. A success always counts. Nobody reads what these statements return: they all travel with
    /// the COMMIT, one round trip for the batch instead of two per delivery.
    public func record(_ results: [(claim: Claim, attempt: Attempt, next: Next?)]) async throws {
        guard !results.isEmpty else { return }
        try await pool.transaction(settings: SLAEngine.settings) { db in
            for (claim, attempt, next) in results {
                record(claim, attempt, next: next, on: db)
            }
        }
    }

    private func record(_ claim: Claim, _ attempt: Attempt, next: Next?, on db: Connection) {
        let latencyMs = Int(attempt.latency.components.seconds * 1000 + attempt.latency.components.attoseconds / 1_000_000_000_000_000)
        let error = attempt.error.map { String($0.prefix(500)) }
        let excerpt = attempt.responseExcerpt.map { String($0.prefix(200)) }
        var retryAt: Date?
        var dead = false
        switch next {
        case .retry(let at): retryAt = at
        case .dead: dead = true
        case nil: break
        }
        db.sendWithCommit(
            """
            insert into huifang.delivery_attempts (delivery_id, attempt, started_at, latency_ms, outcome, status_code, error, response_excerpt)
            values (\(claim.id), \(claim.attempt), \(attempt.startedAt), \(latencyMs), \(attempt.outcome.rawValue),
                    \(attempt.statusCode), \(error), \(excerpt))
            on conflict do nothing
            """)
        if attempt.outcome == .delivered {
            db.sendWithCommit(
                """
                with done as (
                    update huifang.deliveries set state = 'delivered', delivered_at = now(), next_attempt_at = null,
                                                  last_status = \(attempt.statusCode), last_error = null
                    where id = \(claim.id) and state = 'pending'
                    returning notification_branch_id, notification_id
                )
                update huifang.notifications n set delivered_at = coalesce(n.delivered_at, now())
                from done where n.branch_id = done.notification_branch_id and n.id = done.notification_id
                """)
        } else {
            db.sendWithCommit(
                """
                update huifang.deliveries set
                    state = case when \(dead)::boolean then 'dead' else state end,
                    dead_at = case when \(dead)::boolean then now() end,
                    next_attempt_at = case when \(dead)::boolean then null else \(retryAt)::timestamptz end,
                    last_status = \(attempt.statusCode), last_error = \(error)
                where id = \(claim.id) and state = 'pending' and attempts = \(claim.attempt)
                """)
        }
    }

    /// Composes the digest of the working day of `now` when it is 08:30 or later there and nobody has;
    /// returns the digests written, or nil when there was nothing to do.
    public func composeDailyDigests(now: Date) async throws -> Int? {
        try await pool.transaction(settings: SLAEngine.settings) { db in
            try await db.query("select huifang.compose_daily_digests(\(now))").single().decode(0)
        }
    }

    /// When the earliest pending delivery is due, or nil when none is pending.
    public func nextDue() async throws -> Date? {
        try await pool.transaction(settings: SLAEngine.settings, readOnly: true) { db in
            try await db.query("select min(next_attempt_at) from huifang.deliveries where state = 'pending'").single().decode(0)
        }
    }
}
