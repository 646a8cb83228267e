import Foundation
import Postgres

public struct Client: Sendable {
    public var id: Int64
    public var branchId: Int
    public var clientNo: String
    public var name: String
    public var idType: String
    /// In the clear: callers mask it before it leaves the server.
    public var idNumber: String
    public var phone: String?
    public var openedAt: Date
    public var status: String
    public var closedAt: Date?
    public var referrerStaffId: Int64?
    public var referrerBrokerId: Int64?
    public var classification: Classification?

    /// Art 12.1.1: a client a broker introduced.
    public var isBrokerIntroduced: Bool { referrerBrokerId != nil }
}

/// How a client is judged on its latest asset snapshot (`huifang.client_segments`).
public struct Classification: Sendable {
    public var asOf: PostgresDate
    public var totalAssets: Decimal
    public var lastTradeDate: PostgresDate?
    public var highNetWorth: Bool
    public var segment: String
}

public struct Broker: Sendable {
    public var id: Int64
    public var branchId: Int
    public var agentNo: String
    public var name: String
    public var phone: String?
    public var staffId: Int64?
    public var status: String
    public var registeredOn: PostgresDate?
}

public struct AssetSnapshot: Sendable {
    public var clientId: Int64
    public var asOf: PostgresDate
    public var totalAssets: Decimal
    public var lastTradeDate: PostgresDate?
    /// 1 as first recorded; a correction is the next revision, with its reason.
    public var revision = 1
    public var recordedAt: Date?
    public var correctionReason: String?

    public init(clientId: Int64, asOf: PostgresDate, totalAssets: Decimal, lastTradeDate: PostgresDate?) {
        self.clientId = clientId
        self.asOf = asOf
        self.totalAssets = totalAssets
        self.lastTradeDate = lastTradeDate
    }
}
