import Foundation

/// Checks a record's answers against its form version, and a form version's own definition.
/// Every problem is reported, each naming its field (`satisfaction.staffAttitude`, `evidence[1].ref`).
public enum FormValidator {
    public struct Problem: Sendable, Equatable {
        public var field: String
        public var reason: String
        public init(_ field: String, _ reason: String) {
            self.field = field
            self.reason = reason
        }
    }

    public static let maxText = 4000

    public static func validate(
        _ answers: [String: JSONValue], against fields: [FormField], directiveQuestions: [String] = []
    ) -> [Problem] {
        var problems: [Problem] = []
        let known = Set(fields.map(\.id))
        for key in answers.keys.sorted() where !known.contains(key) {
            problems.append(.init(key, "is not a field of this form"))
        }
        for field in fields {
            guard let value = answers[field.id], value != .null else {
                if field.required { problems.append(.init(field.id, "is required")) }
                continue
            }
            problems += check(value, field, path: field.id, directiveQuestions: directiveQuestions)
        }
        return problems
    }

    private static func check(_ value: JSONValue, _ field: FormField, path: String, directiveQuestions: [String]) -> [Problem] {
        switch field.kind {
        case .text:
            return text(value, path: path, max: field.max ?? maxText, required: field.required)
        case .integer:
            guard case .number(let number) = value, number == number.rounded(), abs(number) < 1e12 else {
                return [.init(path, "must be a whole number")]
            }
            if let min = field.min, Int(number) < min { return [.init(path, "must be at least \(min)")] }
            if let max = field.max, Int(number) > max { return [.init(path, "must be at most \(max)")] }
            return []
        case .boolean:
            if case .bool = value { return [] }
            return [.init(path, "must be true or false")]
        case .datetime:
            guard case .string(let text) = value, isTimestamp(text) else {
                return [.init(path, "must be a time like 2026-11-25T10:30:00+08:00")]
            }
            return []
        case .choice:
            return choice(value, options: field.options ?? [], path: path)
        case .multiChoice:
            guard case .array(let items) = value else { return [.init(path, "must be a list")] }
            var problems = items.enumerated().flatMap { choice($1, options: field.options ?? [], path: "\(path)[\($0)]") }
            if Set(items.compactMap { if case .string(let s) = $0 { s } else { nil } }).count != items.count {
                problems.append(.init(path, "must not repeat a choice"))
            }
            return problems
        case .ratings:
            guard case .object(let scores) = value else { return [.init(path, "must map each aspect to a score")] }
            let keys = field.keys ?? []
            let low = field.min ?? 1, high = field.max ?? 5
            var problems: [Problem] = []
            for key in scores.keys.sorted() where !keys.contains(key) {
                problems.append(.init("\(path).\(key)", "is not rated on this form; rate \(keys.joined(separator: ", "))"))
            }
            for key in keys {
                guard let score = scores[key], score != .null else {
                    if field.required { problems.append(.init("\(path).\(key)", "is required")) }
                    continue
                }
                guard case .number(let number) = score, number == number.rounded(), Int(number) >= low, Int(number) <= high else {
                    problems.append(.init("\(path).\(key)", "must be a whole score from \(low) to \(high)"))
                    continue
                }
            }
            return problems
        case .fieldChanges:
            return list(value, path: path) { item, at in
                objectProblems(item, at, required: ["field": { choice($0, options: field.options ?? [], path: $1) }],
                               optional: ["old": { text($0, path: $1, max: 500, required: false) },
                                          "new": { text($0, path: $1, max: 500, required: false) }])
            }
        case .textList:
            return list(value, path: path) { item, at in text(item, path: at, max: 200, required: true) }
        case .findings:
            return list(value, path: path) { item, at in
                objectProblems(item, at, required: [
                    "kind": { choice($0, options: field.options ?? [], path: $1) },
                    "text": { text($0, path: $1, max: 2000, required: true) },
                ], optional: [:])
            }
        case .evidence:
            return list(value, path: path) { item, at in
                objectProblems(item, at, required: [
                    "kind": { choice($0, options: field.options ?? [], path: $1) },
                    "ref": { text($0, path: $1, max: 200, required: true) },
                ], optional: ["sha256": { value, at in
                    guard case .string(let hex) = value, hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                        return [.init(at, "must be 64 lower-case hex digits")]
                    }
                    return []
                }])
            }
        case .directiveAnswers:
            guard case .object(let given) = value else { return [.init(path, "must map each question id to its answer")] }
            var problems: [Problem] = []
            for key in given.keys.sorted() where !directiveQuestions.contains(key) {
                problems.append(.init("\(path).\(key)", "is not a question of the directive"))
            }
            for question in directiveQuestions {
                guard let answer = given[question] else {
                    problems.append(.init("\(path).\(question)", "is required"))
                    continue
                }
                problems += text(answer, path: "\(path).\(question)", max: 2000, required: true)
            }
            return problems
        }
    }

    private static func text(_ value: JSONValue, path: String, max: Int, required: Bool) -> [Problem] {
        guard case .string(let text) = value else { return [.init(path, "must be text")] }
        if required && text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [.init(path, "must not be blank")] }
        if text.count > max { return [.init(path, "must be at most \(max) characters")] }
        return []
    }

    private static func choice(_ value: JSONValue, options: [String], path: String) -> [Problem] {
        guard case .string(let text) = value, options.contains(text) else {
            return [.init(path, "must be one of \(options.joined(separator: ", "))")]
        }
        return []
    }

    private static func list(_ value: JSONValue, path: String, _ item: (JSONValue, String) -> [Problem]) -> [Problem] {
        guard case .array(let items) = value else { return [.init(path, "must be a list")] }
        if items.count > 100 { return [.init(path, "must have at most 100 entries")] }
        return items.enumerated().flatMap { item($1, "\(path)[\($0)]") }
    }

    private static func objectProblems(
        _ value: JSONValue, _ path: String, required: [String: (JSONValue, String) -> [Problem]],
        optional: [String: (JSONValue, String) -> [Problem]]
    ) -> [Problem] {
        guard case .object(let members) = value else { return [.init(path, "must be an object")] }
        var problems: [Problem] = []
        for key in members.keys.sorted() where required[key] == nil && optional[key] == nil {
            problems.append(.init("\(path).\(key)", "is not expected here"))
        }
        for (key, check) in required.sorted(by: { $0.key < $1.key }) {
            guard let member = members[key], member != .null else {
                problems.append(.init("\(path).\(key)", "is required"))
                continue
            }
            problems += check(member, "\(path).\(key)")
        }
        for (key, check) in optional.sorted(by: { $0.key < $1.key }) {
            if let member = members[key], member != .null { problems += check(member, "\(path).\(key)") }
        }
        return problems
    }

    private static func isTimestamp(_ text: String) -> Bool {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return plain.date(from: text) != nil || fractional.date(from: text) != nil
    }

    /// Problems of a form version's own definition, before it may be published.
    public static func checkDefinition(_ fields: [FormField]) -> [Problem] {
        var problems: [Problem] = []
        if fields.isEmpty { problems.append(.init("fields", "a form has at least one field")) }
        var seen = Set<String>()
        for (index, field) in fields.enumerated() {
            let path = "fields[\(index)]"
            if !Patterns.matches(field.id, "^[a-z][A-Za-z0-9]{0,39}$") {
                problems.append(.init("\(path).id", "must be a camelCase name of at most 40 letters and digits"))
            }
            if !seen.insert(field.id).inserted { problems.append(.init("\(path).id", "repeats \(field.id)")) }
            if field.label.trimmingCharacters(in: .whitespaces).isEmpty { problems.append(.init("\(path).label", "must not be blank")) }
            let needsOptions: Set<FormField.Kind> = [.choice, .multiChoice, .fieldChanges, .findings, .evidence]
            if needsOptions.contains(field.kind) && (field.options ?? []).isEmpty {
                problems.append(.init("\(path).options", "a \(field.kind.rawValue) field lists its options"))
            }
            if field.kind == .ratings && (field.keys ?? []).isEmpty {
                problems.append(.init("\(path).keys", "a ratings field lists what is rated"))
            }
            if let min = field.min, let max = field.max, min > max { problems.append(.init("\(path).min", "is above max")) }
        }
        return problems
    }
}
