import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listRecordForms(_ input: Operations.ListRecordForms.Input) async throws -> Operations.ListRecordForms.Output {
        let access = try authorize(.readOrganization)
        let forms = try await pool.transaction(for: access, readOnly: true) { try await RecordFormStore($0).all() }
        return .ok(.init(body: .json(forms.map(Components.Schemas.RecordForm.init))))
    }

    func publishRecordForm(_ input: Operations.PublishRecordForm.Input) async throws -> Operations.PublishRecordForm.Output {
        let access = try authorize(.manageForms)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let fields = body.fields.map(FormField.init)
        var problems = FormValidator.checkDefinition(fields).map { Problem.FieldError($0.field, $0.reason) }
        if let title = body.title { problems += Validate.text(title, field: "title", max: 200) }
        if let note = body.note { problems += Validate.text(note, field: "note", max: 2000) }
        try Validate.throwing(problems)
        let code = input.path.formCode.rawValue
        let form = try await pool.transaction(for: access) { db -> RecordForm? in
            guard let form = try await RecordFormStore(db).publish(code: code, title: body.title, fields: fields, note: body.note, by: access.staffId)
            else { return nil }
            try await AuditLog(db).record(
                action: "record_form.published", objectType: "record_form", objectId: "\(code)/\(form.version)",
                detail: try JSONB(encoding: ["fields": form.fields.count]))
            return form
        }
        guard let form else { throw AppError.notFound("form") }
        return .created(.init(body: .json(.init(form))))
    }

    func checkRecordAnswers(_ input: Operations.CheckRecordAnswers.Input) async throws -> Operations.CheckRecordAnswers.Output {
        let access = try authorize(.readOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let code = input.path.formCode.rawValue
        let form = try await pool.transaction(for: access, readOnly: true) {
            try await RecordFormStore($0).get(code: code, version: Int(input.path.version))
        }
        guard let form else { throw AppError.notFound("form version") }
        let answers = try JSONDecoder().decode([String: JSONValue].self, from: JSONEncoder().encode(body.answers))
        let problems = FormValidator.validate(answers, against: form.fields, directiveQuestions: body.directiveQuestionIds ?? [])
        return .ok(.init(body: .json(.init(
            valid: problems.isEmpty, errors: problems.map { .init(field: $0.field, reason: $0.reason) }))))
    }
}

extension FormField {
    init(_ field: Components.Schemas.FormField) {
        self.init(
            id: field.id, label: field.label, kind: Kind(rawValue: field._type.rawValue) ?? .text, required: field.required ?? false,
            options: field.options, keys: field.keys, min: field.min.map(Int.init), max: field.max.map(Int.init))
    }
}

extension Components.Schemas.RecordForm {
    init(_ form: RecordForm) {
        self.init(
            code: form.code, version: Int32(form.version), title: form.title, attachment: form.attachment,
            fields: form.fields.map { field in
                .init(
                    id: field.id, label: field.label, _type: .init(rawValue: field.kind.rawValue) ?? .text, required: field.required,
                    options: field.options, keys: field.keys, min: field.min.map(Int32.init), max: field.max.map(Int32.init))
            },
            publishedBy: form.publishedBy, publishedAt: form.publishedAt, note: form.note)
    }
}
