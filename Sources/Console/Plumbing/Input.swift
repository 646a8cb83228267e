import Foundation

/// Reading a form's choices into the API's enumerations: an unknown value is a 422 naming the field.
func choice<T: RawRepresentable>(_ value: String?, _ field: String, as type: T.Type = T.self) throws -> T where T.RawValue == String {
    guard let value, let chosen = T(rawValue: value) else {
        throw ConsoleFailure(status: 422, title: "The request is invalid", fields: [.init(field: field, reason: value == nil || value == "" ? "is required" : "is not one of the choices")])
    }
    return chosen
}

/// A required text of a form: a 422 naming the field when blank.
func required(_ value: String?, _ field: String) throws -> String {
    guard let value, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
        throw ConsoleFailure(status: 422, title: "The request is invalid", fields: [.init(field: field, reason: "is required")])
    }
    return value
}

extension FormData {
    /// A required whole number of a form: a 422 naming the field when missing.
    func requiredInt64(_ name: String) throws -> Int64 {
        guard let value = int64(name) else {
            throw ConsoleFailure(status: 422, title: "The request is invalid", fields: [.init(field: name, reason: "is required")])
        }
        return value
    }
}
