import Domain
import Testing

@Suite("Record answers are checked against their form version, every problem named")
struct FormValidatorTests {
    static let fields: [FormField] = [
        .init(id: "method", label: "Method", kind: .choice, required: true, options: ["phone", "visit"]),
        .init(id: "contactedAt", label: "Time", kind: .datetime, required: true),
        .init(id: "durationMinutes", label: "Duration", kind: .integer, min: 0, max: 600),
        .init(id: "identityConfirmed", label: "Identity", kind: .boolean, required: true),
        .init(id: "satisfaction", label: "Satisfaction", kind: .ratings, keys: ["staffAttitude", "technicalSystems"], min: 1, max: 5),
        .init(id: "fieldsVerified", label: "Fields", kind: .fieldChanges, options: ["phone", "address"]),
        .init(id: "findings", label: "Findings", kind: .findings, options: ["problem", "need"]),
        .init(id: "evidence", label: "Evidence", kind: .evidence, options: ["call_recording", "file"]),
        .init(id: "answers", label: "Directive", kind: .directiveAnswers),
    ]

    @Test func aCompleteRecordPasses() {
        let answers: [String: JSONValue] = [
            "method": .string("phone"), "contactedAt": .string("2026-11-25T10:30:00+08:00"), "durationMinutes": .number(6),
            "identityConfirmed": .bool(true),
            "satisfaction": .object(["staffAttitude": .number(5), "technicalSystems": .number(3)]),
            "fieldsVerified": .array([.object(["field": .string("phone"), "old": .string("138"), "new": .string("139")])]),
            "findings": .array([.object(["kind": .string("need"), "text": .string("想了解两融业务")])]),
            "evidence": .array([.object(["kind": .string("call_recording"), "ref": .string("REC-20261125-001")])]),
            "answers": .object(["q1": .string("没有大额转出")]),
        ]
        #expect(FormValidator.validate(answers, against: Self.fields, directiveQuestions: ["q1"]).isEmpty)
    }

    @Test func everyBadAnswerIsNamedByItsField() {
        let answers: [String: JSONValue] = [
            "method": .string("telepathy"), "contactedAt": .string("yesterday"), "durationMinutes": .number(2.5),
            "satisfaction": .object(["staffAttitude": .number(7), "mood": .number(3)]),
            "fieldsVerified": .array([.object(["field": .string("salary")])]),
            "findings": .array([.object(["kind": .string("need"), "text": .string("  ")])]),
            "evidence": .array([.object(["kind": .string("file"), "ref": .string("f.pdf"), "sha256": .string("abc")])]),
            "answers": .object(["q9": .string("?")]),
            "colour": .string("blue"),
        ]
        let problems = FormValidator.validate(answers, against: Self.fields, directiveQuestions: ["q1"])
        #expect(Set(problems.map(\.field)) == [
            "colour", "method", "contactedAt", "durationMinutes", "identityConfirmed", "satisfaction.mood",
            "satisfaction.staffAttitude", "fieldsVerified[0].field", "findings[0].text", "evidence[0].sha256", "answers.q9",
            "answers.q1",
        ])
        #expect(problems.first { $0.field == "identityConfirmed" }?.reason == "is required")
        #expect(problems.first { $0.field == "method" }?.reason == "must be one of phone, visit")
    }

    @Test func aFormDefinitionIsCheckedBeforeItIsPublished() {
        let bad: [FormField] = [
            .init(id: "Method", label: "M", kind: .choice),
            .init(id: "notes", label: " ", kind: .text),
            .init(id: "notes", label: "N", kind: .ratings, min: 5, max: 1),
        ]
        let fields = Set(FormValidator.checkDefinition(bad).map(\.field))
        #expect(fields == ["fields[0].id", "fields[0].options", "fields[1].label", "fields[2].id", "fields[2].keys", "fields[2].min"])
        #expect(FormValidator.checkDefinition(Self.fields).isEmpty)
    }
}
