import Domain
import Foundation
import Postgres

/// Channels and the host exceptions, in the transaction of the request (row-level security limits
/// them to the branches and departments the caller's grants name) or of the owner's CLI.
public struct ChannelStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public func list(branchId: Int? = nil, departmentId: Int? = nil) async throws -> [DeliveryChannel] {
        try await connection.query(
            """
            select \(DeliveryChannel.columns) from huifang.delivery_channels
            where removed_at is null
              and (\(branchId)::int is null or branch_id = \(branchId))
              and (\(departmentId)::int is null or department_id = \(departmentId))
            order by id
            """
        ).map(DeliveryChannel.init(row:))
    }

    public func get(_ id: Int64) async throws -> DeliveryChannel? {
        try await connection.query(
            "select \(DeliveryChannel.columns) from huifang.delivery_channels where id = \(id) and removed_at is null"
        ).first.map(DeliveryChannel.init(row:))
    }

    /// Creates a channel as the transaction's staff member (null for the owner's CLI).
    public func create(_ channel: NewDeliveryChannel) async throws -> DeliveryChannel {
        let row = try await connection.query(
            """
            insert into huifang.delivery_channels (branch_id, role, department_id, kind, name, url, secret, addresses,
                                                   notification_kinds, enabled, created_by)
            values (\(channel.branchId), \(channel.role?.rawValue), \(channel.departmentId), \(channel.kind.rawValue), \(channel.name),
                    \(channel.url), \(channel.secret), \(channel.addresses), \(channel.notificationKinds.map(\.rawValue)),
                    \(channel.enabled), huifang.scope_staff_id())
            returning \(DeliveryChannel.columns)
            """
        ).single()
        return try DeliveryChannel(row: row)
    }

    public func update(_ id: Int64, _ change: DeliveryChannelChange) async throws -> DeliveryChannel? {
        try await connection.query(
            """
            update huifang.delivery_channels set
                name = coalesce(\(change.name), name),
                url = coalesce(\(change.url), url),
                secret = coalesce(\(change.secret), secret),
                addresses = coalesce(\(change.addresses), addresses),
                notification_kinds = coalesce(\(change.notificationKinds?.map(\.rawValue)), notification_kinds),
                enabled = coalesce(\(change.enabled), enabled),
                updated_at = now()
            where id = \(id) and removed_at is null
            returning \(DeliveryChannel.columns)
            """
        ).first.map(DeliveryChannel.init(row:))
    }

    /// Removes a channel (it stays for its deliveries' history) and cancels what it had still to deliver;
    /// false when there is no such channel here.
    public func remove(_ id: Int64) async throws -> Bool {
        let removed = try await connection.execute(
            "update huifang.delivery_channels set removed_at = now(), updated_at = now() where id = \(id) and removed_at is null")
        guard removed == 1 else { return false }
        try await connection.execute(
            """
            update huifang.deliveries set state = 'cancelled', next_attempt_at = null, last_error = 'the channel was removed'
            where channel_id = \(id) and state in ('pending', 'dead')
            """)
        return true
    }

    /// The exceptions an admin made for `host` (none when there are none).
    public func allowance(host: String) async throws -> (http: Bool, privateAddresses: Bool) {
        let row = try await connection.query("select allow_http, allow_private from huifang.delivery_host_allowance(\(host))").single()
        return (try row.decode(0), try row.decode(1))
    }
}
