import Domain
import Foundation
import Postgres

/// A callback record: answers on a form version, who performed it, who signs it off, and where it stands.
public struct CallbackRecord: Sendable {
    public var id: Int64
    public var branchId: Int
    public var branchCode: String
    public var branchName: String
    public var formCode: String
    public var formVersion: Int
    public var revision: Int
    public var amendsId: Int64?
    /// The amendment that corrects this revision, when there is one (a signed one before any draft).
    public var amendedById: Int64?
    public var amendmentReason: String?
    public var taskId: Int64?
    public var clientId: Int64?
    public var brokerId: Int64?
    /// Client number or broker agent number, and the name.
    public var subjectNo: String
    public var subjectName: String
    public var directiveId: Int64?
    public var performerStaffId: Int64
    public var performerName: String
    public var leaderRole: Role
    public var archiverRole: Role
    public var hqDepartmentId: Int?
    public var answers: JSONB
    public var profileFormCode: String?
    public var profileFormVersion: Int?
    public var profileAnswers: JSONB?
    public var state: RecordState
    public var returnReason: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var submittedAt: Date?
    public var countersignedAt: Date?
    public var countersignedBy: Int64?
    public var archivedAt: Date?
    public var archivedBy: Int64?
    public var uploadId: Int64?
    /// SHA-256 (hex) of what the record says now; a signature whose digest differs signed an earlier text.
    public var contentSHA256: String

    static let columns: SQL = """
        r.id, r.branch_id, b.code, b.name, r.form_code, r.form_version, r.revision, r.amends_id,
        (select a.id from huifang.records a where a.branch_id = r.branch_id and a.amends_id = r.id
         order by a.state = 'draft', a.id desc limit 1),
        r.amendment_reason, r.task_id, r.client_id, r.broker_id, coalesce(c.client_no, br.agent_no, ''),
        coalesce(c.name, br.name, ''), r.directive_id, r.performer_staff_id, coalesce(s.name, ''), r.leader_role,
        r.archiver_role, r.hq_department_id, r.answers, r.profile_form_code, r.profile_form_version, r.profile_answers,
        r.state, r.return_reason, r.created_at, r.updated_at, r.submitted_at, r.countersigned_at, r.countersigned_by,
        r.archived_at, r.archived_by, r.upload_id, encode(huifang.record_content_hash(r), 'hex')
        """

    static let joins: SQL = """
        join huifang.branches b on b.id = r.branch_id
        left join huifang.clients c on c.branch_id = r.branch_id and c.id = r.client_id
        left join huifang.brokers br on br.branch_id = r.branch_id and br.id = r.broker_id
        left join huifang.staff s on s.id = r.performer_staff_id
        """

    init(row: Row) throws {
        id = try row.decode(0)
        branchId = try row.decode(1)
        branchCode = try row.decode(2)
        branchName = try row.decode(3)
        formCode = try row.decode(4)
        formVersion = try row.decode(5)
        revision = try row.decode(6)
        amendsId = try row.decode(7)
        amendedById = try row.decode(8)
        amendmentReason = try row.decode(9)
        taskId = try row.decode(10)
        clientId = try row.decode(11)
        brokerId = try row.decode(12)
        subjectNo = try row.decode(13)
        subjectName = try row.decode(14)
        directiveId = try row.decode(15)
        performerStaffId = try row.decode(16)
        performerName = try row.decode(17)
        leaderRole = try Self.role(row.decode(18))
        archiverRole = try Self.role(row.decode(19))
        hqDepartmentId = try row.decode(20)
        answers = try row.decode(21)
        profileFormCode = try row.decode(22)
        profileFormVersion = try row.decode(23)
        profileAnswers = try row.decode(24)
        let stateText: String = try row.decode(25)
        guard let state = RecordState(rawValue: stateText) else { throw StoreError.unexpected("record state \(stateText)") }
        self.state = state
        returnReason = try row.decode(26)
        createdAt = try row.decode(27)
        updatedAt = try row.decode(28)
        submittedAt = try row.decode(29)
        countersignedAt = try row.decode(30)
        countersignedBy = try row.decode(31)
        archivedAt = try row.decode(32)
        archivedBy = try row.decode(33)
        uploadId = try row.decode(34)
        contentSHA256 = try row.decode(35)
    }

    private static func role(_ text: String) throws -> Role {
        guard let role = Role(rawValue: text) else { throw StoreError.unexpected("role \(text)") }
        return role
    }
}

/// A signature on a record: who, as whom, when, and the digest of the content they signed.
public struct RecordSignature: Sendable {
    public var id: Int64
    public var recordId: Int64
    public var step: RecordStep
    public var signerStaffId: Int64
    public var signerName: String
    public var signerRole: String
    public var signedAt: Date
    public var contentSHA256: String
    /// The digest equals the record's content now.
    public var matchesContent: Bool
}

/// A problem, opinion or need found in a callback, and whether it was raised for HQ.
public struct RecordFinding: Sendable {
    public var id: Int64
    public var recordId: Int64
    public var position: Int
    public var kind: String
    public var text: String
    public var raisedAt: Date?
    public var raisedBy: Int64?
    public var problemId: Int64?
    /// Not raised, with the performer's reason (Art 5: every finding is handled).
    public var dismissedAt: Date?
    public var dismissedBy: Int64?
    public var dismissalReason: String?
}
