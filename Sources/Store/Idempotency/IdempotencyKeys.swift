import Foundation
import Postgres
import Synchronization

/// The `Idempotency-Key` of the POST being handled, claimed by the first transaction of the request
/// that changes something: the key is written in that transaction, so the effect and the key commit
/// together or not at all, and a repeat of the request finds the key instead of doing it again.
public final class IdempotencyClaim: Sendable {
    public let staffId: Int64
    public let key: String
    public let requestHash: Data
    private let recorded = Mutex(false)

    /// The claim of the request this task handles, if it sent a key.
    @TaskLocal public static var current: IdempotencyClaim?

    public init(staffId: Int64, key: String, requestHash: Data) {
        self.staffId = staffId
        self.key = key
        self.requestHash = requestHash
    }

    /// Whether a committed transaction carries the key: from then on the request's response is its.
    public var isRecorded: Bool { recorded.withLock { $0 } }

    /// Inside a transaction, last before COMMIT: writes the key if the transaction changed something
    /// (it has a transaction id) and no earlier transaction of the request wrote it.
    func write(on connection: Connection) async throws -> Bool {
        guard !isRecorded else { return false }
        return try await connection.execute(
            """
            insert into huifang.idempotency_keys (staff_id, key, request_hash)
            select \(staffId), \(key), \(requestHash) where pg_current_xact_id_if_assigned() is not null
            """) == 1
    }

    func markRecorded() { recorded.withLock { $0 = true } }
}

/// The stored side of idempotency keys: look-up (with the 24-hour expiry) and the first response.
public struct IdempotencyKeys: Sendable {
    public let pool: Pool

    public init(pool: Pool) {
        self.pool = pool
    }

    public struct Stored: Sendable {
        public var requestHash: Data
        /// nil while the response is not stored (yet, or the process died in between).
        public var status: Int?
        public var headers: [String: String]
        public var body: Data
    }

    /// The key's record, forgetting it first when it is older than its lifetime (24 hours,
    /// `huifang.idempotency_key_lifetime()`).
    public func find(staffId: Int64, key: String) async throws -> Stored? {
        try await pool.transaction(settings: Self.scope(staffId)) { connection in
            // One statement: the expired record is deleted, and (same snapshot) not returned.
            guard
                let row = try await connection.query(
                    """
                    with expired as (
                        delete from huifang.idempotency_keys
                        where staff_id = \(staffId) and key = \(key) and created_at < now() - huifang.idempotency_key_lifetime())
                    select request_hash, status, headers::text, body from huifang.idempotency_keys
                    where staff_id = \(staffId) and key = \(key) and created_at >= now() - huifang.idempotency_key_lifetime()
                    """
                ).first
            else { return nil }
            let headers = try row.decode(2, as: String?.self).flatMap {
                try JSONDecoder().decode([String: String].self, from: Data($0.utf8))
            }
            return Stored(
                requestHash: try row.decode(0), status: try row.decode(1, as: Int?.self), headers: headers ?? [:],
                body: try row.decode(3, as: Data?.self) ?? Data())
        }
    }

    /// Stores the first response of the key's request.
    public func storeResponse(staffId: Int64, key: String, status: Int, headers: [String: String], body: Data) async throws {
        let headerText = String(decoding: try JSONEncoder().encode(headers), as: UTF8.self)
        try await pool.transaction(settings: Self.scope(staffId)) { connection in
            try await connection.query(
                """
                update huifang.idempotency_keys set status = \(status), headers = \(headerText)::jsonb, body = \(body)
                where staff_id = \(staffId) and key = \(key)
                """)
        }
    }

    /// Forgets every key past its lifetime (of all staff members); returns how many.
    @discardableResult
    public static func purgeExpired(pool: Pool) async throws -> Int {
        try await pool.query("select huifang.purge_idempotency_keys()").single().decode(0, as: Int.self)
    }

    static func scope(_ staffId: Int64) -> [(name: String, value: String)] {
        [("huifang.staff_id", String(staffId))]
    }
}
