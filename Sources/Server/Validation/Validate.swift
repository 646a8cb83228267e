import Domain
import Foundation

/// Field checks shared by the handlers; each returns every problem it finds, named by field.
enum Validate {
    static func text(_ value: String, field: String, max: Int = 100) -> [Problem.FieldError] {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [.init(field, "must not be blank")] }
        if value.count > max { return [.init(field, "must be at most \(max) characters")] }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return [.init(field, "must not contain control characters")]
        }
        return []
    }

    /// Branch and department codes: upper-case letters, digits, `-`, `_`; 1–32 characters.
    static func code(_ value: String, field: String) -> [Problem.FieldError] {
        Patterns.matches(value, #"^[A-Z0-9][A-Z0-9_-]{0,31}$"#)
            ? [] : [.init(field, "must be 1–32 upper-case letters, digits, - or _, starting with a letter or digit")]
    }

    /// Employee, client and agent numbers: letters, digits, `-`, `_`; 1–32 characters.
    static func number(_ value: String, field: String) -> [Problem.FieldError] {
        Patterns.matches(value, #"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"#)
            ? [] : [.init(field, "must be 1–32 letters, digits, - or _, starting with a letter or digit")]
    }

    static func phone(_ value: String?, field: String) -> [Problem.FieldError] {
        guard let value else { return [] }
        return Patterns.matches(value, #"^\+?[0-9-]{5,20}$"#) ? [] : [.init(field, "must be a phone number: digits, -, optional leading +")]
    }

    static func email(_ value: String?, field: String) -> [Problem.FieldError] {
        guard let value else { return [] }
        return Patterns.matches(value, #"^[^@\s]+@[^@\s]+$"#) && value.count <= 200 ? [] : [.init(field, "must be an email address")]
    }

    /// Resident IDs are 18 characters (17 digits and a check digit or X) with a valid check digit
    /// (GB 11643); other documents just need a plausible shape.
    static func idNumber(_ value: String, type: String, field: String) -> [Problem.FieldError] {
        if type == "resident_id" {
            guard Patterns.matches(value, #"^[0-9]{17}[0-9X]$"#) else {
                return [.init(field, "a resident ID has 17 digits and a check digit or X")]
            }
            let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
            let digits = value.prefix(17).compactMap { $0.wholeNumberValue }
            let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
            let expected = Array("10X98765432")[sum % 11]
            return value.last == expected ? [] : [.init(field, "the check digit of this resident ID is wrong")]
        }
        return Patterns.matches(value, #"^[A-Za-z0-9()-]{4,40}$"#) ? [] : [.init(field, "must be 4–40 letters, digits, (, ) or -")]
    }

    static func money(_ value: String?, field: String) -> [Problem.FieldError] {
        guard let value else { return [] }
        return Patterns.matches(value, #"^[0-9]{1,18}(\.[0-9]{1,2})?$"#) ? [] : [.init(field, "must be an amount in CNY like 10000000.00")]
    }

    static func date(_ value: String?, field: String) -> [Problem.FieldError] {
        guard let value else { return [] }
        return Dates.parse(value) == nil ? [.init(field, "must be a date like 2026-11-25")] : []
    }

    static func branchSettings(dormantAfterDays: Int32?, coreMinAssets: String?, coreTopN: Int32?) -> [Problem.FieldError] {
        var problems = money(coreMinAssets, field: "coreMinAssets")
        if let days = dormantAfterDays, !(30...3650).contains(days) {
            problems.append(.init("dormantAfterDays", "must be between 30 and 3650"))
        }
        if let topN = coreTopN, topN <= 0 { problems.append(.init("coreTopN", "must be positive")) }
        if coreMinAssets.flatMap({ Decimal(string: $0) }) == 0 { problems.append(.init("coreMinAssets", "must be positive")) }
        return problems
    }

    /// A calendar month, YYYY-MM.
    static func month(_ value: String, field: String = "month") -> [Problem.FieldError] {
        Patterns.matches(value, "^[0-9]{4}-(0[1-9]|1[0-2])$") ? [] : [.init(field, "must be a month like 2026-10")]
    }

    static func reason(_ value: String, field: String = "reason") -> [Problem.FieldError] {
        value.trimmingCharacters(in: .whitespacesAndNewlines).count < 4
            ? [.init(field, "must say why, in at least 4 characters")] : text(value, field: field, max: 500)
    }

    /// Throws the problems as one 422, when there are any.
    static func throwing(_ problems: [Problem.FieldError]) throws {
        guard problems.isEmpty else { throw AppError.invalid(problems) }
    }
}
