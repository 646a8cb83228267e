import Foundation

/// What a delivery is about, as the claim reads it from the database: a notification or a daily
/// digest. Only identifiers, codes, stages and times — never a title: titles carry client numbers and
/// free-text reasons, which must not leave the bank in a message (issue 21).
public struct DeliveryFacts: Sendable, Codable, Equatable {
    public var notificationId: Int64?
    public var branchId: Int?
    public var branchCode: String?
    public var createdAt: Date?
    /// `sla` or `handoff`.
    public var kind: String?
    public var stage: String?
    public var subjectKind: String?
    public var subjectId: Int64?
    public var scheduledAt: Date?
    public var recipientRole: String?
    public var recipientBranchId: Int?
    public var recipientDepartmentId: Int?
    // A digest:
    public var digestId: Int64?
    public var day: String?
    public var dueToday: Int?
    public var overdue: Int?
    public var items: [DigestItem]?

    public struct DigestItem: Sendable, Codable, Equatable {
        public var subjectKind: String
        public var subjectId: Int64
        public var branchId: Int
        public var branchCode: String
        public var clock: String
        public var dueAt: Date
        public var overdue: Bool

        public init(subjectKind: String, subjectId: Int64, branchId: Int, branchCode: String, clock: String, dueAt: Date, overdue: Bool) {
            self.subjectKind = subjectKind
            self.subjectId = subjectId
            self.branchId = branchId
            self.branchCode = branchCode
            self.clock = clock
            self.dueAt = dueAt
            self.overdue = overdue
        }
    }

    public init() {}
}
