/// What a record's answers show to readers: ID and phone numbers, wherever a verified-field change
/// carries them, masked like everywhere else (`110***********1234`, `138****5678`).
public enum RecordAnswers {
    /// The mask of a verified field that holds personal data, nil for the others.
    public static func mask(field: String) -> (@Sendable (String) -> String)? {
        switch field {
        case "phone": PersonalDataMask.phone
        case "id_number": PersonalDataMask.idNumber
        default: nil
        }
    }

    public static func masked(_ answers: [String: JSONValue]) -> [String: JSONValue] {
        answers.mapValues { value in
            guard case .array(let items) = value else { return value }
            return .array(items.map(maskedChange))
        }
    }

    private static func maskedChange(_ item: JSONValue) -> JSONValue {
        guard case .object(var change) = item, case .string(let field) = change["field"], let mask = mask(field: field) else {
            return item
        }
        for key in ["old", "new"] {
            if case .string(let text) = change[key] { change[key] = .string(mask(text)) }
        }
        return .object(change)
    }
}
