import API
import Domain
import Foundation
import OpenAPIRuntime
import Postgres
import Store

extension APIService {
    func listRecords(_ input: Operations.ListRecords.Input) async throws -> Operations.ListRecords.Output {
        let access = try authorize(.readRecords)
        let query = input.query
        var filter = RecordStore.Filter()
        filter.branchId = query.branchId.map(Int.init)
        filter.clientId = query.clientId
        filter.taskId = query.taskId
        filter.directiveId = query.directiveId
        filter.formCode = query.formCode?.rawValue
        filter.states = query.state.map { [RecordState(rawValue: $0.rawValue)!] }
        if query.mine == true { filter.performerStaffId = access.staffId }
        if query.awaitingMySignature == true { filter.awaitingSignatureOf = access.staffId }
        if access.isDepartmentOnly { filter.readingDepartments = access.departmentIds }
        let before = try Cursors.timeAndID(query.after)
        let limit = try Cursors.limit(query.limit)
        let page = try await pool.transaction(for: access, adding: RecordStore.settings, readOnly: true) {
            try await RecordStore($0).list(filter, branches: access.recordBranches, before: before, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: try page.items.map { try .init($0) }, next: page.next))))
    }

    func getRecord(_ input: Operations.GetRecord.Input) async throws -> Operations.GetRecord.Output {
        let access = try authorize(.readRecords)
        let wantsHTML = input.headers.accept.sortedByQuality().first?.contentType == .html
        let shown = try await pool.transaction(for: access, adding: RecordStore.settings, readOnly: true) { db -> ShownRecord? in
            let store = RecordStore(db)
            guard let record = try await store.get(input.path.recordId, branches: access.recordBranches) else { return nil }
            return ShownRecord(
                record: record, signatures: try await store.signatures(of: record), findings: try await store.findings(of: record),
                form: try await RecordFormStore(db).get(code: record.formCode, version: record.formVersion))
        }
        guard let shown else { throw AppError.notFound("record") }
        if wantsHTML {
            return .ok(.init(body: .html(HTTPBody(PrintableRecord(shown).html))))
        }
        return .ok(.init(body: .json(try .init(shown.record, signatures: shown.signatures, findings: shown.findings))))
    }

    func createRecord(_ input: Operations.CreateRecord.Input) async throws -> Operations.CreateRecord.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let access = try authorize(.writeRecords)
        if body.taskId == nil {
            var problems: [Problem.FieldError] = []
            if body.clientId == nil { problems.append(.init("clientId", "is required for a record without a task")) }
            if body.formCode == nil { problems.append(.init("formCode", "is required for a record without a task")) }
            if body.formCode == .special {
                problems.append(.init("formCode", "a special record answers a directive: write it against the directive's task"))
            }
            try Validate.throwing(problems)
        }
        let answers = try RecordInputAnswers(body.answers)
        let profile = try body.profile.map(RecordInputProfile.init)
        let record = try await pool.transaction(for: access, adding: RecordStore.settings) { db -> Components.Schemas.Record in
            let draft: RecordStore.Draft
            var questions: [String] = []
            if let taskId = body.taskId {
                guard let task = try await TaskStore(db).get(taskId, branches: access.taskBranches, lock: true) else {
                    throw AppError.notFound("task")
                }
                guard task.assigneeStaffId == access.staffId else {
                    throw AppError.forbiddenBecause(.writeRecords, "only the person the task is assigned to records its callback")
                }
                guard task.state == .assigned || task.state == .inProgress else {
                    throw AppError.conflict("the task is \(task.state.rawValue); its callback is recorded while it is assigned or in progress")
                }
                let formCode = try await ObligationRuleStore(db).recordForm(rule: task.ruleCode, version: task.ruleVersion)
                if let given = body.formCode?.rawValue, given != formCode {
                    throw AppError.invalid([.init("formCode", "task \(task.id) is recorded on the \(formCode) form of its rule")])
                }
                if let directive = task.directiveId { questions = try await RecordStore(db).directiveQuestionIds(directive) }
                let form = try await formVersion(db, code: formCode, version: body.formVersion)
                draft = RecordStore.Draft(
                    branchId: task.branchId, formCode: formCode, formVersion: form.version, taskId: task.id, clientId: nil,
                    answers: try answers.validated(against: form, questions: questions),
                    profile: try await profile?.validated(db, recordForm: formCode))
            } else {
                let clientId = body.clientId!
                let formCode = body.formCode!.rawValue
                guard let branch = try await RecordStore(db).branch(ofClient: clientId, branches: access.recordBranches) else { throw AppError.notFound("client") }
                let form = try await formVersion(db, code: formCode, version: body.formVersion)
                draft = RecordStore.Draft(
                    branchId: branch, formCode: formCode, formVersion: form.version, taskId: nil, clientId: clientId,
                    answers: try answers.validated(against: form, questions: []),
                    profile: try await profile?.validated(db, recordForm: formCode))
            }
            let store = RecordStore(db)
            let id = try await store.create(draft)
            try await AuditLog(db).record(
                action: "record.created", objectType: "record", objectId: String(id), branchId: draft.branchId,
                detail: try JSONB(encoding: ["form": "\(draft.formCode)/\(draft.formVersion)", "task": draft.taskId.map(String.init) ?? ""]))
            return try await shownRecord(store, id: id, branch: draft.branchId)
        }
        return .created(.init(body: .json(record)))
    }

    func updateRecord(_ input: Operations.UpdateRecord.Input) async throws -> Operations.UpdateRecord.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let access = try authorize(.writeRecords)
        let answers = try RecordInputAnswers(body.answers)
        let profile = try body.profile.map(RecordInputProfile.init)
        let record = try await pool.transaction(for: access, adding: RecordStore.settings) { db -> Components.Schemas.Record in
            let store = RecordStore(db)
            let record = try await lockedRecord(store, input.path.recordId, access: access)
            guard record.performerStaffId == access.staffId else {
                throw AppError.forbiddenBecause(.writeRecords, "only the performer edits their record")
            }
            guard record.state.isEditable else { throw Self.notEditable(record) }
            let form = try await formVersion(db, code: record.formCode, version: body.formVersion ?? Int32(record.formVersion))
            let questions = try await store.directiveQuestionIds(of: record)
            try await store.update(
                record, formVersion: form.version, answers: try answers.validated(against: form, questions: questions),
                profile: try await profile?.validated(db, recordForm: record.formCode))
            try await AuditLog(db).record(
                action: "record.updated", objectType: "record", objectId: String(record.id), branchId: record.branchId)
            return try await shownRecord(store, id: record.id, branch: record.branchId)
        }
        return .ok(.init(body: .json(record)))
    }

    func submitRecord(_ input: Operations.SubmitRecord.Input) async throws -> Operations.SubmitRecord.Output {
        .ok(.init(body: .json(try await stepRecord(input.path.recordId, .submit))))
    }

    func countersignRecord(_ input: Operations.CountersignRecord.Input) async throws -> Operations.CountersignRecord.Output {
        .ok(.init(body: .json(try await stepRecord(input.path.recordId, .countersign))))
    }

    func returnRecord(_ input: Operations.ReturnRecord.Input) async throws -> Operations.ReturnRecord.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.reason(body.reason))
        return .ok(.init(body: .json(try await stepRecord(input.path.recordId, .return, reason: body.reason))))
    }

    func archiveRecord(_ input: Operations.ArchiveRecord.Input) async throws -> Operations.ArchiveRecord.Output {
        .ok(.init(body: .json(try await stepRecord(input.path.recordId, .archive))))
    }

    func amendRecord(_ input: Operations.AmendRecord.Input) async throws -> Operations.AmendRecord.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.reason(body.reason))
        let access = try authorize(.writeRecords)
        let answers = try RecordInputAnswers(body.answers)
        let profile = try body.profile.map(RecordInputProfile.init)
        let amendment = try await pool.transaction(for: access, adding: RecordStore.settings) { db -> Components.Schemas.Record in
            let store = RecordStore(db)
            let record = try await lockedRecord(store, input.path.recordId, access: access)
            guard record.state.isFinal else {
                throw AppError.conflict("record \(record.id) is \(record.state.rawValue); only a countersigned record is amended — edit it instead")
            }
            let principal = try signedIn()
            guard record.performerStaffId == access.staffId || principal.holds(record.archiverRole, for: record) else {
                throw AppError.forbiddenBecause(
                    .writeRecords, "a record is amended by its performer or by the \(record.archiverRole.rawValue) who keeps the archive")
            }
            let amendments = try await store.amendments(of: record)
            if let signed = amendments.first(where: { $0.state != .draft }) {
                throw AppError.conflict("record \(record.id) was amended already by record \(signed.id); amend the latest revision")
            }
            if let own = amendments.first(where: { $0.performer == access.staffId }) {
                throw AppError.conflict("you have a draft amendment of this record already, record \(own.id); edit it (PUT /records/\(own.id))")
            }
            let form = try await formVersion(db, code: record.formCode, version: body.formVersion ?? Int32(record.formVersion))
            let questions = try await store.directiveQuestionIds(of: record)
            let id = try await store.amend(
                record, formVersion: form.version, answers: try answers.validated(against: form, questions: questions),
                profile: try await profile?.validated(db, recordForm: record.formCode), reason: body.reason)
            try await AuditLog(db).record(
                action: "record.amended", objectType: "record", objectId: String(id), branchId: record.branchId, reason: body.reason,
                detail: try JSONB(encoding: ["amends": String(record.id), "revision": String(record.revision + 1)]))
            return try await shownRecord(store, id: id, branch: record.branchId)
        }
        return .created(.init(body: .json(amendment)))
    }

    func raiseFinding(_ input: Operations.RaiseFinding.Input) async throws -> Operations.RaiseFinding.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        if let description = body.description { try Validate.throwing(Validate.text(description, field: "description", max: 2000)) }
        let access = try authorize(.writeRecords)
        let problem = try await pool.transaction(for: access, adding: RecordStore.settings) { db -> Components.Schemas.RaisedProblem in
            let store = RecordStore(db)
            let (record, finding) = try await unhandledFinding(store, input.path.recordId, input.path.findingId, access: access)
            guard record.clientId != nil else {
                throw AppError.invalid([.init("findingId", "a problem is raised for a client; this record is a broker's")])
            }
            let id = try await store.raise(
                finding, of: record, category: body.category.rawValue, severity: body.severity.rawValue, description: body.description)
            try await AuditLog(db).record(
                action: "problem.raised", objectType: "problem", objectId: String(id), branchId: record.branchId,
                detail: try JSONB(encoding: ["record": String(record.id), "finding": String(finding.id), "category": body.category.rawValue]))
            guard let raised = try await ClientFile.raisedProblems(db, "p.branch_id = \(record.branchId) and p.id = \(id)").first else {
                throw AppError.notFound("problem")
            }
            return .init(raised)
        }
        return .created(.init(body: .json(problem)))
    }

    func dismissFinding(_ input: Operations.DismissFinding.Input) async throws -> Operations.DismissFinding.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.text(body.reason, field: "reason", max: 2000))
        let access = try authorize(.writeRecords)
        let finding = try await pool.transaction(for: access, adding: RecordStore.settings) { db -> Components.Schemas.Finding in
            let store = RecordStore(db)
            let (record, finding) = try await unhandledFinding(store, input.path.recordId, input.path.findingId, access: access)
            let dismissed = try await store.dismiss(finding, of: record, reason: body.reason)
            try await AuditLog(db).record(
                action: "finding.dismissed", objectType: "record_finding", objectId: String(finding.id), branchId: record.branchId,
                detail: try JSONB(encoding: ["record": String(record.id), "reason": body.reason]))
            return .init(dismissed)
        }
        return .ok(.init(body: .json(finding)))
    }

    func getClientFile(_ input: Operations.GetClientFile.Input) async throws -> Operations.GetClientFile.Output {
        let access = try authorize(.readRecords)
        let shown = try await pool.transaction(for: access, adding: RecordStore.settings, readOnly: true) { db -> Components.Schemas.ClientFile? in
            guard let file = try await ClientFile.load(db, clientId: input.path.clientId, branches: access.recordBranches) else { return nil }
            return .init(
                clientId: input.path.clientId,
                records: try file.records.map { record in
                    try .init(record, signatures: file.signatures.filter { $0.recordId == record.id },
                              findings: file.findings.filter { $0.recordId == record.id })
                },
                profiles: try file.profiles.map(Components.Schemas.ClientProfile.init),
                problems: file.problems.map(Components.Schemas.RaisedProblem.init),
                timeline: file.timeline.map { entry in
                    .init(at: entry.at, event: .init(rawValue: entry.event) ?? .recordCreated, recordId: entry.recordId,
                          staffId: entry.staffId, summary: entry.summary)
                })
        }
        guard let shown else { throw AppError.notFound("client") }
        return .ok(.init(body: .json(shown)))
    }

    // A step of a record's life: lock it, check the step and who takes it, take it (the database
    // checks the same again and signs), audit, and return it as it now is.
    private func stepRecord(_ id: Int64, _ step: RecordStep, reason: String? = nil) async throws -> Components.Schemas.Record {
        let action: Action = step == .submit ? .writeRecords : .signRecords
        let access = try authorize(action)
        let principal = try signedIn()
        return try await pool.transaction(for: access, adding: RecordStore.settings) { db in
            let store = RecordStore(db)
            let record = try await lockedRecord(store, id, access: access)
            guard RecordTransitions.next(from: record.state, step) != nil else {
                if record.state.isFinal && step != .archive { throw Self.notEditable(record) }
                throw AppError.conflict("a record that is \(record.state.rawValue) cannot \(step.rawValue)")
            }
            switch step.signer {
            case .performer:
                guard record.performerStaffId == access.staffId else {
                    throw AppError.forbiddenBecause(action, "only the performer signs their record")
                }
            case .leader:
                guard record.performerStaffId != access.staffId else {
                    throw AppError.forbiddenBecause(action, "the leader's signature cannot be the performer's: you performed this callback")
                }
                guard principal.holds(record.leaderRole, for: record) else {
                    throw AppError.forbiddenBecause(action, "this record is countersigned by the \(record.leaderRole.rawValue)")
                }
            case .archiver:
                guard principal.holds(record.archiverRole, for: record) else {
                    throw AppError.forbiddenBecause(action, "this record is archived by the \(record.archiverRole.rawValue)")
                }
            }
            try await store.take(step, on: record, reason: reason)
            let shown = try await shownRecord(store, id: record.id, branch: record.branchId)
            try await AuditLog(db).record(
                action: step.auditAction,
                objectType: "record", objectId: String(record.id), branchId: record.branchId, reason: reason,
                detail: try JSONB(encoding: ["sha256": shown.contentSha256]))
            return shown
        }
    }

    /// A finding the performer may still raise or dismiss: of a signed record of theirs, neither
    /// raised nor dismissed yet (the record locked).
    private func unhandledFinding(
        _ store: RecordStore, _ recordId: Int64, _ findingId: Int64, access: Access
    ) async throws -> (CallbackRecord, RecordFinding) {
        let record = try await lockedRecord(store, recordId, access: access)
        guard record.performerStaffId == access.staffId else {
            throw AppError.forbiddenBecause(.writeRecords, "the performer of the record raises or dismisses its findings")
        }
        guard !record.state.isEditable && record.state != .returned else {
            throw AppError.conflict("record \(record.id) is \(record.state.rawValue); findings are handled once the record is signed")
        }
        guard let finding = try await store.findings(of: record).first(where: { $0.id == findingId }) else {
            throw AppError.notFound("finding of this record")
        }
        if let problem = finding.problemId { throw AppError.conflict("finding \(finding.id) was raised already as problem \(problem)") }
        if finding.dismissedAt != nil { throw AppError.conflict("finding \(finding.id) was dismissed: \(finding.dismissalReason ?? "")") }
        return (record, finding)
    }

    private func lockedRecord(_ store: RecordStore, _ id: Int64, access: Access) async throws -> CallbackRecord {
        guard let record = try await store.get(id, branches: access.recordBranches, lock: true) else { throw AppError.notFound("record") }
        return record
    }

    private func shownRecord(_ store: RecordStore, id: Int64, branch: Int) async throws -> Components.Schemas.Record {
        guard let record = try await store.get(id, branches: [branch]) else { throw AppError.notFound("record") }
        return try .init(record, signatures: try await store.signatures(of: record), findings: try await store.findings(of: record))
    }

    private func formVersion(_ db: Connection, code: String, version: Int32?) async throws -> RecordForm {
        let store = RecordFormStore(db)
        let form = if let version { try await store.get(code: code, version: Int(version)) } else { try await store.latest(code: code) }
        guard let form else { throw AppError.invalid([.init("formVersion", "the \(code) form has no version \(version.map(String.init) ?? "")")]) }
        return form
    }


    private static func notEditable(_ record: CallbackRecord) -> AppError {
        record.state.isFinal
            ? .conflict("record \(record.id) is \(record.state.rawValue) and can no longer change; correct it with an amendment (POST /records/\(record.id)/amendments)")
            : .conflict("record \(record.id) is \(record.state.rawValue) and waits for the leader; it changes only if returned")
    }
}

/// What GET /records/{id} shows.
struct ShownRecord: Sendable {
    var record: CallbackRecord
    var signatures: [RecordSignature]
    var findings: [RecordFinding]
    var form: RecordForm?
}

extension Access {
    /// Branches to name in record queries (nil: any branch row-level security lets through).
    var recordBranches: [Int]? { taskBranches }
}

extension Principal {
    /// Holds `role` where the record is: its branch, or (S&T HQ) its HQ department.
    func holds(_ role: Role, for record: CallbackRecord) -> Bool {
        grants.contains { grant in
            grant.role == role && (role == .salesTradingHQ ? grant.departmentId == record.hqDepartmentId : grant.branchId == record.branchId)
        }
    }
}
