import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listRecordUploads(_ input: Operations.ListRecordUploads.Input) async throws -> Operations.ListRecordUploads.Output {
        let query = input.query
        let access = try authorize(query.inbox == true ? .receiveRecords : .readRecords)
        var filter = RecordUploadStore.Filter()
        filter.branchId = query.branchId.map(Int.init)
        filter.month = query.month
        if query.inbox == true {
            filter.departmentIds = access.departmentIds
            filter.unacknowledgedOnly = query.unacknowledged == true
        }
        let limit = try Cursors.limit(query.limit)
        let uploads = try await pool.transaction(for: access, readOnly: true) {
            try await RecordUploadStore($0).list(filter, branches: access.recordBranches, limit: limit)
        }
        let now = now()
        return .ok(.init(body: .json(uploads.map { .init($0, now: now) })))
    }

    func getRecordUpload(_ input: Operations.GetRecordUpload.Input) async throws -> Operations.GetRecordUpload.Output {
        let access = try authorize(.readRecords)
        let upload = try await pool.transaction(for: access, readOnly: true) {
            try await RecordUploadStore($0).get(input.path.uploadId, branches: access.recordBranches)
        }
        guard let upload else { throw AppError.notFound("upload") }
        return .ok(.init(body: .json(.init(upload, now: now()))))
    }

    func submitRecordUpload(_ input: Operations.SubmitRecordUpload.Input) async throws -> Operations.SubmitRecordUpload.Output {
        let access = try authorize(.submitUploads)
        let upload = try await pool.transaction(for: access) { db -> RecordUpload in
            let store = RecordUploadStore(db)
            guard let upload = try await store.get(input.path.uploadId, branches: access.branchIds, lock: true) else {
                throw AppError.notFound("upload")
            }
            guard upload.state == "pending" else {
                throw AppError.conflict("the upload of \(upload.month) was submitted already; later records go in the next one")
            }
            try await store.submit(upload)
            guard let submitted = try await store.get(upload.id, branches: [upload.branchId]) else { throw AppError.notFound("upload") }
            try await AuditLog(db).record(
                action: "upload.submitted", objectType: "record_upload", objectId: String(upload.id), branchId: upload.branchId,
                detail: try JSONB(encoding: ["month": upload.month, "records": String(submitted.recordCount ?? 0)]))
            return submitted
        }
        return .ok(.init(body: .json(.init(upload, now: now()))))
    }

    func acknowledgeRecordUpload(_ input: Operations.AcknowledgeRecordUpload.Input) async throws -> Operations.AcknowledgeRecordUpload.Output {
        let access = try authorize(.receiveRecords)
        let upload = try await pool.transaction(for: access) { db -> RecordUpload in
            let store = RecordUploadStore(db)
            // Not locked: the department updates its delivery, not the upload; the delivery's trigger refuses a second acknowledgement.
            guard let upload = try await store.get(input.path.uploadId, branches: nil),
                  let delivery = upload.deliveries.first(where: { access.departmentIds.contains($0.departmentId) })
            else { throw AppError.notFound("upload delivered to your department") }
            guard delivery.acknowledgedAt == nil else {
                throw AppError.conflict("your department acknowledged this upload already")
            }
            _ = try await store.acknowledge(upload, departmentId: delivery.departmentId)
            try await AuditLog(db).record(
                action: "upload.acknowledged", objectType: "record_upload", objectId: String(upload.id), branchId: upload.branchId,
                detail: try JSONB(encoding: ["department": String(delivery.departmentId)]))
            guard let acknowledged = try await store.get(upload.id, branches: nil) else { throw AppError.notFound("upload") }
            return acknowledged
        }
        return .ok(.init(body: .json(.init(upload, now: now()))))
    }

    func listDirectiveFeedback(_ input: Operations.ListDirectiveFeedback.Input) async throws -> Operations.ListDirectiveFeedback.Output {
        let query = input.query
        let access = try authorize(query.inbox == true ? .receiveRecords : .readRecords)
        var filter = DirectiveFeedbackStore.Filter()
        filter.branchId = query.branchId.map(Int.init)
        filter.directiveId = query.directiveId
        filter.state = query.state?.rawValue
        if query.inbox == true { filter.departmentIds = access.departmentIds }
        let limit = try Cursors.limit(query.limit)
        let packages = try await pool.transaction(for: access, readOnly: true) {
            try await DirectiveFeedbackStore($0).list(filter, branches: access.recordBranches, limit: limit)
        }
        let now = now()
        return .ok(.init(body: .json(packages.map { .init($0, now: now) })))
    }

    func sendDirectiveFeedback(_ input: Operations.SendDirectiveFeedback.Input) async throws -> Operations.SendDirectiveFeedback.Output {
        let access = try authorize(.submitUploads)
        let package = try await pool.transaction(for: access) { db -> DirectiveFeedback in
            let store = DirectiveFeedbackStore(db)
            guard let package = try await store.get(input.path.feedbackId, branches: access.branchIds, lock: true) else {
                throw AppError.notFound("feedback package")
            }
            guard package.state == "pending" else { throw AppError.conflict("this package was \(package.state) already") }
            let unsigned = try await store.unsignedRecords(of: package)
            guard unsigned.isEmpty else {
                throw AppError.conflict(
                    "records \(unsigned.map(String.init).joined(separator: ", ")) of this directive are not countersigned yet; "
                        + "countersign them (or have them corrected) before sending")
            }
            try await store.send(package)
            guard let sent = try await store.get(package.id, branches: [package.branchId]) else { throw AppError.notFound("feedback package") }
            try await AuditLog(db).record(
                action: "directive_feedback.sent", objectType: "directive_feedback", objectId: String(package.id),
                branchId: package.branchId,
                detail: try JSONB(encoding: ["directive": String(package.directiveId), "records": String(sent.recordIds?.count ?? 0)]))
            return sent
        }
        return .ok(.init(body: .json(.init(package, now: now()))))
    }

    func acknowledgeDirectiveFeedback(_ input: Operations.AcknowledgeDirectiveFeedback.Input) async throws
        -> Operations.AcknowledgeDirectiveFeedback.Output
    {
        let access = try authorize(.receiveRecords)
        let package = try await pool.transaction(for: access) { db -> DirectiveFeedback in
            let store = DirectiveFeedbackStore(db)
            guard let package = try await store.get(input.path.feedbackId, branches: nil, lock: true),
                  access.departmentIds.contains(package.departmentId)
            else { throw AppError.notFound("feedback package addressed to your department") }
            guard package.state == "sent" else {
                throw AppError.conflict(package.state == "pending" ? "this package has not been sent yet" : "this package was acknowledged already")
            }
            try await store.acknowledge(package)
            try await AuditLog(db).record(
                action: "directive_feedback.acknowledged", objectType: "directive_feedback", objectId: String(package.id),
                branchId: package.branchId)
            guard let acknowledged = try await store.get(package.id, branches: nil) else { throw AppError.notFound("feedback package") }
            return acknowledged
        }
        return .ok(.init(body: .json(.init(package, now: now()))))
    }
}
