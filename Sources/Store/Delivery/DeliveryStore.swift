import Domain
import Foundation
import Postgres

public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var channelId: Int64
    public var kind: DeliveryKind
    public var state: String
    public var notificationId: Int64?
    public var notificationBranchId: Int?
    public var digestId: Int64?
    public var attempts: Int
    public var createdAt: Date
    public var nextAttemptAt: Date?
    public var deliveredAt: Date?
    public var deadAt: Date?
    public var lastStatus: Int?
    public var lastError: String?
}

public struct DeliveryAttempt: Sendable, Equatable {
    public var attempt: Int
    public var startedAt: Date
    public var latencyMs: Int
    public var outcome: String
    public var statusCode: Int?
    public var error: String?
    public var responseExcerpt: String?
}

/// Deliveries as their channels' readers see them (row-level security: a delivery follows its channel).
public struct DeliveryStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    private static let columns: SQL = """
        d.id, d.channel_id, d.kind, d.state, d.notification_id, d.notification_branch_id, d.digest_id, d.attempts, d.created_at,
        d.next_attempt_at, d.delivered_at, d.dead_at, d.last_status, d.last_error
        """

    /// Newest first; `before` is the id cursor.
    public func list(state: String?, channelId: Int64?, before: Int64?, limit: Int) async throws -> Page<Delivery> {
        let rows = try await connection.query(
            """
            select \(Self.columns) from huifang.deliveries d
            where (\(state)::text is null or d.state = \(state))
              and (\(channelId)::bigint is null or d.channel_id = \(channelId))
              and (\(before)::bigint is null or d.id < \(before))
            order by d.id desc
            limit \(limit + 1)
            """
        ).map(Self.delivery(row:))
        return Cursor.page(rows, limit: limit) { Cursor.encode($0.id) }
    }

    public func get(_ id: Int64) async throws -> (Delivery, [DeliveryAttempt])? {
        guard let delivery = try await connection.query("select \(Self.columns) from huifang.deliveries d where d.id = \(id)")
            .first.map(Self.delivery(row:))
        else { return nil }
        let attempts = try await connection.query(
            """
            select attempt, started_at, latency_ms, outcome, status_code, error, response_excerpt
            from huifang.delivery_attempts where delivery_id = \(id) order by attempt
            """
        ).map { row in
            DeliveryAttempt(
                attempt: try row.decode(0), startedAt: try row.decode(1), latencyMs: try row.decode(2), outcome: try row.decode(3),
                statusCode: try row.decode(4), error: try row.decode(5), responseExcerpt: try row.decode(6))
        }
        return (delivery, attempts)
    }

    public enum RetryResult: Sendable {
        case retried(Delivery)
        case notDead(String)
        case notFound
    }

    /// Makes a dead delivery pending again, now, with a fresh retry window.
    public func retry(_ id: Int64) async throws -> RetryResult {
        if let row = try await connection.query(
            """
            update huifang.deliveries d set state = 'pending', pending_since = now(), next_attempt_at = now(), dead_at = null
            where d.id = \(id) and d.state = 'dead'
            returning \(Self.columns)
            """
        ).first {
            try await connection.execute("select pg_notify('huifang_deliveries', '')")
            return .retried(try Self.delivery(row: row))
        }
        guard let state: String = try await connection.query("select state from huifang.deliveries where id = \(id)").first?.decode(0) else {
            return .notFound
        }
        return .notDead(state)
    }

    private static func delivery(row: Row) throws -> Delivery {
        Delivery(
            id: try row.decode(0), channelId: try row.decode(1), kind: DeliveryKind(rawValue: try row.decode(2)) ?? .handoff,
            state: try row.decode(3), notificationId: try row.decode(4), notificationBranchId: try row.decode(5),
            digestId: try row.decode(6), attempts: try row.decode(7), createdAt: try row.decode(8), nextAttemptAt: try row.decode(9),
            deliveredAt: try row.decode(10), deadAt: try row.decode(11), lastStatus: try row.decode(12), lastError: try row.decode(13))
    }
}

/// Deliveries still pending and dead across every channel (the engine's scope), for `/health` and
/// `/metrics`; both are read from their partial indexes, whatever the number delivered.
public enum DeliveryCounts {
    public static func outstanding(pool: Pool) async throws -> (pending: Int, dead: Int) {
        try await pool.transaction(settings: SLAEngine.settings, readOnly: true) { db in
            let row = try await db.query(
                """
                select (select count(*)::int from huifang.deliveries where state = 'pending'),
                       (select count(*)::int from huifang.deliveries where state = 'dead')
                """
            ).single()
            return (try row.decode(0), try row.decode(1))
        }
    }
}
