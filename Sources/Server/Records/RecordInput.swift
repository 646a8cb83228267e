import API
import Domain
import Foundation
import Postgres
import Store

/// A record's answers as sent: kept byte for byte for storage, and as values for validation.
struct RecordInputAnswers: Sendable {
    let values: [String: JSONValue]
    let json: JSONB

    init(_ payload: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(payload)
        values = try JSONDecoder().decode([String: JSONValue].self, from: data)
        json = JSONB(text: String(decoding: data, as: UTF8.self))
    }

    /// The answers, when they are valid for the form version; otherwise a 422 naming every field (`answers.satisfaction.research`).
    func validated(against form: RecordForm, questions: [String], prefix: String = "answers") throws -> JSONB {
        let problems = FormValidator.validate(values, against: form.fields, directiveQuestions: questions)
        try Validate.throwing(problems.map { .init("\(prefix).\($0.field)", $0.reason) })
        return json
    }
}

/// The client profile (Attachment 4 or 5) a service record carries.
struct RecordInputProfile: Sendable {
    let formCode: String
    let formVersion: Int32?
    let answers: RecordInputAnswers

    init(_ input: Components.Schemas.ProfileInput) throws {
        formCode = input.formCode.rawValue
        formVersion = input.formVersion
        answers = try RecordInputAnswers(input.answers)
    }

    func validated(_ db: Connection, recordForm: String) async throws -> RecordStore.Profile {
        guard recordForm == "service" else {
            throw AppError.invalid([.init("profile", "only a service record (Art 13) builds the client's profile")])
        }
        let store = RecordFormStore(db)
        let form = if let formVersion { try await store.get(code: formCode, version: Int(formVersion)) } else { try await store.latest(code: formCode) }
        guard let form else { throw AppError.invalid([.init("profile.formVersion", "the \(formCode) form has no such version")]) }
        return RecordStore.Profile(
            formCode: formCode, formVersion: form.version, answers: try answers.validated(against: form, questions: [], prefix: "profile.answers"))
    }
}
