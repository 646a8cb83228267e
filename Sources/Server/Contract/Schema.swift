import Domain
import Foundation

/// One JSON Schema of `openapi.yaml`, with its `$ref`s resolved, as the server checks it: the
/// constraints the spec states are the ones every request is held to.
struct Schema: Sendable {
    var types: Set<String>?
    var format: String?
    var enumeration: [JSONValue]?
    var minLength: Int?
    var maxLength: Int?
    var pattern: String?
    var minimum: Double?
    var maximum: Double?
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems = false
    var items: [Schema] = []
    var properties: [String: Schema] = [:]
    var required: [String] = []
    /// nil: anything goes; false: no other properties; a schema: each other property's.
    var additionalProperties: AdditionalProperties = .any
    var allOf: [Schema] = []

    enum AdditionalProperties: Sendable {
        case any, forbidden
        case schema([Schema])
    }

    /// Compiles a schema object of the parsed YAML; `components` resolves `$ref`s (depth-limited: the
    /// spec has no recursive schemas, and a cycle must not hang the server).
    init(_ node: Any?, components: [String: Any], depth: Int = 0) {
        guard var object = node as? [String: Any], depth < 24 else { return }
        if let reference = object["$ref"] as? String, let name = reference.split(separator: "/").last,
            let target = components[String(name)] as? [String: Any]
        {
            object = target.merging(object.filter { $0.key != "$ref" }) { _, mine in mine }
        }
        let nested = { (value: Any?) in Schema(value, components: components, depth: depth + 1) }
        if let type = object["type"] as? String { types = [type] }
        if let list = object["type"] as? [Any] { types = Set(list.map { "\($0)" }) }
        format = object["format"] as? String
        enumeration = (object["enum"] as? [Any])?.map(JSONValue.init(yaml:))
        minLength = object["minLength"] as? Int
        maxLength = object["maxLength"] as? Int
        pattern = object["pattern"] as? String
        minimum = (object["minimum"] as? Int).map(Double.init) ?? object["minimum"] as? Double
        maximum = (object["maximum"] as? Int).map(Double.init) ?? object["maximum"] as? Double
        minItems = object["minItems"] as? Int
        maxItems = object["maxItems"] as? Int
        uniqueItems = object["uniqueItems"] as? Bool ?? false
        if let itemSchema = object["items"] { items = [nested(itemSchema)] }
        for (name, value) in object["properties"] as? [String: Any] ?? [:] { properties[name] = nested(value) }
        required = (object["required"] as? [Any])?.map { "\($0)" } ?? []
        switch object["additionalProperties"] {
        case let allowed as Bool: additionalProperties = allowed ? .any : .forbidden
        case let schema as [String: Any]: additionalProperties = .schema([nested(schema)])
        default: additionalProperties = .any
        }
        allOf = (object["allOf"] as? [Any] ?? []).map(nested)
    }

    init() {}
}

extension JSONValue {
    /// A scalar of the parsed YAML as JSON (enum values).
    init(yaml value: Any) {
        switch value {
        case let bool as Bool: self = .bool(bool)
        case let int as Int: self = .number(Double(int))
        case let double as Double: self = .number(double)
        case is NSNull: self = .null
        default: self = .string("\(value)")
        }
    }
}
