import API
import Domain
import Foundation
import OpenAPIRuntime
import Postgres
import Store

extension Components.Schemas.Record {
    /// The record as the API shows it: ID and phone numbers in its answers masked.
    init(_ record: CallbackRecord, signatures: [RecordSignature]? = nil, findings: [RecordFinding]? = nil) throws {
        self.init(
            id: record.id, branchId: Int32(record.branchId), branchCode: record.branchCode,
            formCode: .init(rawValue: record.formCode) ?? .newAccount, formVersion: Int32(record.formVersion),
            revision: Int32(record.revision), amendsId: record.amendsId, amendedById: record.amendedById,
            amendmentReason: record.amendmentReason, taskId: record.taskId, clientId: record.clientId, brokerId: record.brokerId,
            subjectNo: record.subjectNo, subjectName: record.subjectName, directiveId: record.directiveId,
            performerStaffId: record.performerStaffId, performerName: record.performerName, leaderRole: record.leaderRole.rawValue,
            archiverRole: record.archiverRole.rawValue, answers: try MaskedAnswers.decode(record.answers),
            profile: try record.profileAnswers.map { answers in
                .init(formCode: record.profileFormCode ?? "", formVersion: Int32(record.profileFormVersion ?? 0),
                      answers: try MaskedAnswers.decode(answers))
            },
            state: .init(rawValue: record.state.rawValue) ?? .draft, returnReason: record.returnReason, createdAt: record.createdAt,
            updatedAt: record.updatedAt, submittedAt: record.submittedAt, countersignedAt: record.countersignedAt,
            countersignedBy: record.countersignedBy, archivedAt: record.archivedAt, archivedBy: record.archivedBy,
            uploadId: record.uploadId, contentSha256: record.contentSHA256,
            signatures: signatures?.map(Components.Schemas.Signature.init), findings: findings?.map(Components.Schemas.Finding.init))
    }
}

enum MaskedAnswers {
    /// Stored answers (or profile answers) as an API payload, personal data masked (`RecordAnswers.masked`).
    static func decode<Payload: Decodable>(_ answers: JSONB) throws -> Payload {
        let values = RecordAnswers.masked(try answers.decode([String: JSONValue].self))
        return try JSONDecoder().decode(Payload.self, from: JSONEncoder().encode(values))
    }
}

extension Components.Schemas.Signature {
    init(_ signature: RecordSignature) {
        self.init(
            id: signature.id, step: .init(rawValue: signature.step.rawValue) ?? .submit, signerStaffId: signature.signerStaffId,
            signerName: signature.signerName, signerRole: signature.signerRole, signedAt: signature.signedAt,
            contentSha256: signature.contentSHA256, matchesContent: signature.matchesContent)
    }
}

extension Components.Schemas.Finding {
    init(_ finding: RecordFinding) {
        self.init(
            id: finding.id, position: Int32(finding.position), kind: .init(rawValue: finding.kind) ?? .problem, text: finding.text,
            raisedAt: finding.raisedAt, raisedBy: finding.raisedBy, problemId: finding.problemId, dismissedAt: finding.dismissedAt,
            dismissedBy: finding.dismissedBy, dismissalReason: finding.dismissalReason)
    }
}

extension Components.Schemas.RaisedProblem {
    init(_ problem: ClientFile.RaisedProblem) {
        self.init(
            id: problem.id, recordId: problem.recordId, findingId: problem.findingId, category: problem.category,
            severity: problem.severity, description: problem.description, state: problem.state, raisedBy: problem.raisedBy,
            raisedAt: problem.raisedAt, dueAt: problem.dueAt)
    }
}

extension Components.Schemas.ClientProfile {
    init(_ profile: ClientFile.Profile) throws {
        self.init(
            id: profile.id, formCode: profile.formCode, formVersion: Int32(profile.formVersion),
            answers: try MaskedAnswers.decode(profile.answers), recordId: profile.recordId, recordedBy: profile.recordedBy,
            recordedAt: profile.recordedAt, current: profile.isCurrent)
    }
}

extension Components.Schemas.RecordUpload {
    init(_ upload: RecordUpload, now: Date) {
        self.init(
            id: upload.id, branchId: Int32(upload.branchId), branchCode: upload.branchCode, month: upload.month,
            state: .init(rawValue: upload.state) ?? .pending, standing: .init(rawValue: upload.standing(now: now)) ?? .pending,
            dueAt: upload.dueAt, provisional: upload.provisional, submittedAt: upload.submittedAt, submittedBy: upload.submittedBy,
            recordCount: upload.recordCount.map(Int32.init),
            deliveries: upload.deliveries.map { delivery in
                .init(
                    departmentId: Int32(delivery.departmentId), departmentCode: delivery.departmentCode,
                    content: .init(rawValue: delivery.content) ?? .compliance, recordIds: delivery.recordIds,
                    acknowledgedAt: delivery.acknowledgedAt, acknowledgedBy: delivery.acknowledgedBy)
            })
    }
}

extension Components.Schemas.DirectiveFeedback {
    init(_ package: DirectiveFeedback, now: Date) {
        self.init(
            id: package.id, branchId: Int32(package.branchId), branchCode: package.branchCode, directiveId: package.directiveId,
            directiveTitle: package.directiveTitle, departmentId: Int32(package.departmentId), endedAt: package.endedAt,
            endedBecause: .init(rawValue: package.endedBecause) ?? .tasksClosed, dueAt: package.dueAt, provisional: package.provisional,
            overdue: package.state == "pending" && (package.dueAt.map { $0 <= now } ?? false),
            state: .init(rawValue: package.state) ?? .pending, recordIds: package.recordIds, sentAt: package.sentAt,
            sentBy: package.sentBy, acknowledgedAt: package.acknowledgedAt, acknowledgedBy: package.acknowledgedBy)
    }
}
