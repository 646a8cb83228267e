import Domain
import Postgres

/// Channels and host exceptions set up by an operator with the owner role (`huifang channels …`),
/// e.g. for the demo or before any admin signs in. Audited with no actor and `via: cli`.
public struct OwnerChannels: Sendable {
    public let pool: Pool

    public init(pool: Pool) {
        self.pool = pool
    }

    public struct ScopeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Adds a channel for a branch role (by branch code) or an HQ department (by code).
    public func add(_ channel: NewDeliveryChannel, branchCode: String?, departmentCode: String?) async throws -> DeliveryChannel {
        try await pool.transaction { db in
            var channel = channel
            if let branchCode {
                guard let id: Int = try await db.query("select id from huifang.branches where code = \(branchCode)").first?.decode(0) else {
                    throw ScopeError(description: "no branch with code \(branchCode)")
                }
                channel.branchId = id
            }
            if let departmentCode {
                guard let id: Int = try await db.query("select id from huifang.departments where code = \(departmentCode)").first?.decode(0) else {
                    throw ScopeError(description: "no department with code \(departmentCode)")
                }
                channel.departmentId = id
            }
            let created = try await ChannelStore(db).create(channel)
            try await db.query(
                """
                insert into huifang.audit_events (branch_id, action, object_type, object_id, detail)
                values (\(created.branchId), 'delivery_channel.created', 'delivery_channel', \(String(created.id)),
                        jsonb_build_object('via', 'cli', 'kind', \(created.kind.rawValue)::text))
                """)
            return created
        }
    }

    public func list() async throws -> [DeliveryChannel] {
        try await pool.transaction(readOnly: true) { try await ChannelStore($0).list() }
    }

    /// Lets webhooks reach `host` over http and/or at private addresses.
    public func allow(host: String, http: Bool, privateAddresses: Bool, reason: String) async throws {
        try await pool.transaction { db in
            try await db.query(
                """
                insert into huifang.delivery_allowed_hosts (host, allow_http, allow_private, reason)
                values (\(host.lowercased()), \(http), \(privateAddresses), \(reason))
                on conflict (host) do update set allow_http = excluded.allow_http, allow_private = excluded.allow_private,
                                                 reason = excluded.reason
                """)
            try await db.query(
                """
                insert into huifang.audit_events (action, object_type, object_id, reason, detail)
                values ('delivery_host.allowed', 'delivery_host', \(host.lowercased()), \(reason),
                        jsonb_build_object('via', 'cli', 'allowHttp', \(http)::boolean, 'allowPrivate', \(privateAddresses)::boolean))
                """)
        }
    }
}
