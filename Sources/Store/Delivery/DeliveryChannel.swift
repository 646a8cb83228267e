import Domain
import Foundation
import Postgres

/// A channel as the API shows it: never its secret, only whether it has one.
public struct DeliveryChannel: Sendable, Equatable {
    public var id: Int64
    public var branchId: Int?
    public var role: Role?
    public var departmentId: Int?
    public var kind: ChannelKind
    public var name: String
    public var url: String?
    public var addresses: [String]?
    public var notificationKinds: [DeliveryKind]
    public var enabled: Bool
    /// Whether requests are signed (the secret itself never leaves the database but to the engine).
    public var secretSet: Bool
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: SQL =
        "id, branch_id, role, department_id, kind, name, url, addresses, notification_kinds, enabled, has_secret, created_at, updated_at"

    init(row: Row) throws {
        id = try row.decode(0)
        branchId = try row.decode(1)
        role = try row.decode(2, as: String?.self).flatMap(Role.init(rawValue:))
        departmentId = try row.decode(3)
        kind = ChannelKind(rawValue: try row.decode(4)) ?? .webhook
        name = try row.decode(5)
        url = try row.decode(6)
        addresses = try row.decode(7, as: [String]?.self)
        notificationKinds = try row.decode(8, as: [String].self).compactMap(DeliveryKind.init(rawValue:))
        enabled = try row.decode(9)
        secretSet = try row.decode(10)
        createdAt = try row.decode(11)
        updatedAt = try row.decode(12)
    }
}

/// What a new channel is: the address it serves, how it reaches people and what it carries.
public struct NewDeliveryChannel: Sendable {
    public var branchId: Int?
    public var role: Role?
    public var departmentId: Int?
    public var kind: ChannelKind
    public var name: String
    public var url: String?
    public var secret: String?
    public var addresses: [String]?
    public var notificationKinds: [DeliveryKind]
    public var enabled: Bool

    public init(branchId: Int?, role: Role?, departmentId: Int?, kind: ChannelKind, name: String, url: String?, secret: String?,
                addresses: [String]?, notificationKinds: [DeliveryKind], enabled: Bool = true) {
        self.branchId = branchId
        self.role = role
        self.departmentId = departmentId
        self.kind = kind
        self.name = name
        self.url = url
        self.secret = secret
        self.addresses = addresses
        self.notificationKinds = notificationKinds
        self.enabled = enabled
    }
}

/// The fields a change may set; nil leaves one as it is.
public struct DeliveryChannelChange: Sendable {
    public var name: String?
    public var url: String?
    public var secret: String?
    public var addresses: [String]?
    public var notificationKinds: [DeliveryKind]?
    public var enabled: Bool?

    public init(name: String? = nil, url: String? = nil, secret: String? = nil, addresses: [String]? = nil,
                notificationKinds: [DeliveryKind]? = nil, enabled: Bool? = nil) {
        self.name = name
        self.url = url
        self.secret = secret
        self.addresses = addresses
        self.notificationKinds = notificationKinds
        self.enabled = enabled
    }
}
