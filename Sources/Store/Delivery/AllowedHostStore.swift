import Foundation
import Postgres

/// An admin's exception to the webhook safety rules for one host.
public struct AllowedHost: Sendable, Equatable {
    public var host: String
    public var allowHTTP: Bool
    public var allowPrivate: Bool
    public var reason: String
    public var createdAt: Date
}

/// The host exceptions (admins only; row-level security refuses everyone else).
public struct AllowedHostStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public func list() async throws -> [AllowedHost] {
        try await connection.query(
            "select host, allow_http, allow_private, reason, created_at from huifang.delivery_allowed_hosts order by host"
        ).map(Self.host(row:))
    }

    /// Sets the exceptions of `host` (created by the transaction's staff member); returns them and
    /// whether the host was new.
    public func put(host: String, allowHTTP: Bool, allowPrivate: Bool, reason: String) async throws -> (AllowedHost, created: Bool) {
        let row = try await connection.query(
            """
            insert into huifang.delivery_allowed_hosts as h (host, allow_http, allow_private, reason, created_by)
            values (\(host), \(allowHTTP), \(allowPrivate), \(reason), huifang.scope_staff_id())
            on conflict (host) do update set allow_http = excluded.allow_http, allow_private = excluded.allow_private,
                                             reason = excluded.reason
            returning host, allow_http, allow_private, reason, created_at, xmax = 0
            """
        ).single()
        return (try Self.host(row: row), try row.decode(5))
    }

    public func remove(host: String) async throws -> Bool {
        try await connection.execute("delete from huifang.delivery_allowed_hosts where host = \(host)") == 1
    }

    private static func host(row: Row) throws -> AllowedHost {
        AllowedHost(host: try row.decode(0), allowHTTP: try row.decode(1), allowPrivate: try row.decode(2), reason: try row.decode(3),
                    createdAt: try row.decode(4))
    }
}
