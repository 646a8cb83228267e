import Domain
import Foundation

extension Schema {
    /// Every way `value` breaks this schema, named by field (`snapshots[2].clientId`), in the
    /// user's terms; at most `limit` of them.
    func problems(with value: JSONValue, at field: String, limit: Int = 50) -> [Problem.FieldError] {
        var problems: [Problem.FieldError] = []
        check(value, at: field, into: &problems, limit: limit)
        return problems
    }

    private func check(_ value: JSONValue, at field: String, into problems: inout [Problem.FieldError], limit: Int) {
        guard problems.count < limit else { return }
        let name = field.isEmpty ? "body" : field
        for part in allOf { part.check(value, at: field, into: &problems, limit: limit) }
        if let types, !types.contains(where: { Self.value(value, isOfType: $0) }) {
            problems.append(.init(name, Self.typeRule(types)))
            return
        }
        if let enumeration, !enumeration.contains(value) {
            let allowed = enumeration.map { if case .string(let text) = $0 { text } else { "\($0)" } }
            problems.append(.init(name, "must be one of: " + allowed.joined(separator: ", ")))
            return
        }
        switch value {
        case .string(let text): checkString(text, at: name, into: &problems)
        case .number(let number): checkNumber(number, at: name, into: &problems)
        case .array(let elements): checkArray(elements, at: field, into: &problems, limit: limit)
        case .object(let members): checkObject(members, at: field, into: &problems, limit: limit)
        case .bool, .null: break
        }
    }

    private func checkString(_ text: String, at name: String, into problems: inout [Problem.FieldError]) {
        if let control = Self.forbiddenControl(in: text, allowLayout: format != "password") {
            problems.append(.init(name, "must not contain control characters (found U+\(control))"))
            return
        }
        let length = text.unicodeScalars.count
        if let minLength, length < minLength {
            problems.append(.init(name, minLength == 1 ? "must not be empty" : "must be at least \(minLength) characters"))
        }
        if let maxLength, length > maxLength { problems.append(.init(name, "must be at most \(maxLength) characters")) }
        if let pattern, !Patterns.matches(text, pattern) {
            problems.append(.init(name, "is not in the expected form (\(pattern))"))
        }
        switch format {
        case "date" where Dates.parse(text) == nil:
            problems.append(.init(name, "must be a date like 2026-11-25"))
        case "date-time" where RFC3339DateTranscoder.parse(text) == nil:
            problems.append(.init(name, "must be a date and time with its offset, like 2026-11-25T09:30:00+08:00"))
        default: break
        }
    }

    private func checkNumber(_ number: Double, at name: String, into problems: inout [Problem.FieldError]) {
        // Double(Int64.max) rounds up to 2^63, which is out of range: the upper bound is exclusive there.
        switch format {
        case "int32" where !(Double(Int32.min)...Double(Int32.max)).contains(number):
            problems.append(.init(name, "must be between \(Int32.min) and \(Int32.max)"))
        case "int64" where !(Double(Int64.min)..<Double(Int64.max)).contains(number):
            problems.append(.init(name, "must be between \(Int64.min) and \(Int64.max)"))
        default: break
        }
        if let minimum, number < minimum { problems.append(.init(name, "must be at least \(Self.text(minimum))")) }
        if let maximum, number > maximum { problems.append(.init(name, "must be at most \(Self.text(maximum))")) }
    }

    private func checkArray(_ elements: [JSONValue], at field: String, into problems: inout [Problem.FieldError], limit: Int) {
        let name = field.isEmpty ? "body" : field
        if let minItems, elements.count < minItems {
            problems.append(.init(name, minItems == 1 ? "must not be empty" : "must have at least \(minItems) items"))
        }
        if let maxItems, elements.count > maxItems {
            problems.append(.init(name, "must have at most \(maxItems) items"))
            return
        }
        if uniqueItems, Set(elements.map { "\($0)" }).count != elements.count {
            problems.append(.init(name, "must not repeat an item"))
        }
        guard let item = items.first else { return }
        for (index, element) in elements.enumerated() {
            item.check(element, at: "\(field)[\(index)]", into: &problems, limit: limit)
        }
    }

    private func checkObject(_ members: [String: JSONValue], at field: String, into problems: inout [Problem.FieldError], limit: Int) {
        let prefix = field.isEmpty ? "" : field + "."
        for name in required where members[name] == nil { problems.append(.init(prefix + name, "is required")) }
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            if let control = Self.forbiddenControl(in: name, allowLayout: false) {
                problems.append(.init(field.isEmpty ? "body" : field, "a field name must not contain control characters (found U+\(control))"))
                continue
            }
            if let schema = properties[name] {
                schema.check(value, at: prefix + name, into: &problems, limit: limit)
                continue
            }
            switch additionalProperties {
            case .forbidden: problems.append(.init(prefix + name, "is not a field of this request"))
            case .schema(let schemas): schemas.first?.check(value, at: prefix + name, into: &problems, limit: limit)
            case .any: Schema.freeForm.check(value, at: prefix + name, into: &problems, limit: limit)
            }
        }
    }

    /// What free-form JSON (record answers, details) is held to: no control characters in any
    /// string (PostgreSQL's jsonb refuses U+0000 outright).
    static let freeForm = Schema()

    private static func value(_ value: JSONValue, isOfType type: String) -> Bool {
        switch (type, value) {
        case ("string", .string), ("boolean", .bool), ("object", .object), ("array", .array), ("null", .null), ("number", .number):
            true
        case ("integer", .number(let number)): number.rounded() == number && number.isFinite
        default: false
        }
    }

    private static func typeRule(_ types: Set<String>) -> String {
        let words: [String: String] = [
            "string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
            "object": "an object", "array": "a list", "null": "null",
        ]
        return "must be " + types.sorted().map { words[$0] ?? $0 }.joined(separator: " or ")
    }

    /// The first C0 control character (or DEL) in `text` as hex; tab, line feed and carriage return
    /// are text's own layout unless `allowLayout` is false (passwords, field names).
    static func forbiddenControl(in text: String, allowLayout: Bool) -> String? {
        for scalar in text.unicodeScalars where scalar.value < 0x20 || scalar.value == 0x7f {
            if allowLayout, scalar == "\t" || scalar == "\n" || scalar == "\r" { continue }
            return String(format: "%04X", scalar.value)
        }
        return nil
    }

    private static func text(_ number: Double) -> String {
        number.rounded() == number ? String(Int64(number)) : String(number)
    }
}
