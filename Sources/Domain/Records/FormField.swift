/// One field of a record form version (Attachments 1–5 and the service record), as data.
public struct FormField: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case text, integer, boolean, datetime, choice
        case multiChoice = "multi_choice"
        /// Scores 1–5 (or `min`–`max`) for each of `keys`, e.g. staff attitude, technical systems.
        case ratings
        /// Key client fields verified: [{field (one of `options`), old, new}].
        case fieldChanges = "field_changes"
        case textList = "text_list"
        /// Problems, opinions and needs found: [{kind (one of `options`), text}].
        case findings
        /// References to evidence: [{kind (one of `options`), ref, sha256?}].
        case evidence
        /// Answers to the directive's questions: {questionId: answer}.
        case directiveAnswers = "directive_answers"
    }

    public var id: String
    public var label: String
    public var kind: Kind
    public var required: Bool
    public var options: [String]?
    public var keys: [String]?
    public var min: Int?
    public var max: Int?

    public init(
        id: String, label: String, kind: Kind, required: Bool = false, options: [String]? = nil, keys: [String]? = nil,
        min: Int? = nil, max: Int? = nil
    ) {
        self.id = id
        self.label = label
        self.kind = kind
        self.required = required
        self.options = options
        self.keys = keys
        self.min = min
        self.max = max
    }

    enum CodingKeys: String, CodingKey { case id, label, kind = "type", required, options, keys, min, max }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        label = try container.decode(String.self, forKey: .label)
        kind = try container.decode(Kind.self, forKey: .kind)
        required = try container.decodeIfPresent(Bool.self, forKey: .required) ?? false
        options = try container.decodeIfPresent([String].self, forKey: .options)
        keys = try container.decodeIfPresent([String].self, forKey: .keys)
        min = try container.decodeIfPresent(Int.self, forKey: .min)
        max = try container.decodeIfPresent(Int.self, forKey: .max)
    }
}
