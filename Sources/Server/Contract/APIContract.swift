import API
import Domain
import Foundation
import HTTPTypes
import Yams

/// The operations of `openapi.yaml` as the server enforces them: each one's parameters and body
/// schema, so that every constraint the spec states holds at the server (one source of truth).
public struct APIContract: Sendable {
    struct Parameter: Sendable {
        var name: String
        var location: String
        var required: Bool
        var schema: Schema
    }

    struct Operation: Sendable {
        var id: String
        var method: HTTPRequest.Method
        var segments: [Substring]
        var parameters: [Parameter]
        var body: Schema?
        var bodyRequired: Bool
        /// `x-max-body-bytes`: bulk operations take more than the default.
        var maxBodyBytes: Int?

        /// Path parameters by name when `path` is this operation's, with how many segments were literal.
        func match(_ path: [Substring]) -> (values: [String: String], literals: Int)? {
            guard path.count == segments.count else { return nil }
            var values: [String: String] = [:]
            var literals = 0
            for (template, actual) in zip(segments, path) {
                if template.first == "{", template.last == "}" {
                    values[String(template.dropFirst().dropLast())] = String(actual).removingPercentEncoding ?? String(actual)
                } else if template == actual {
                    literals += 1
                } else {
                    return nil
                }
            }
            return (values, literals)
        }
    }

    var operations: [Operation]
    /// The operations by their number of path segments: a request is matched against these only.
    private let operationsBySegmentCount: [Int: [Operation]]

    public static let shared: APIContract = {
        do { return try APIContract(yaml: String(decoding: OpenAPIDocument.yaml, as: UTF8.self)) } catch {
            fatalError("openapi.yaml does not parse: \(error)")
        }
    }()

    init(yaml: String) throws {
        guard let document = try Yams.load(yaml: yaml) as? [String: Any] else { throw ContractError.notAnObject }
        let components = (document["components"] as? [String: Any]) ?? [:]
        let schemas = (components["schemas"] as? [String: Any]) ?? [:]
        let sharedParameters = (components["parameters"] as? [String: Any]) ?? [:]
        let bodies = (components["requestBodies"] as? [String: Any]) ?? [:]
        func resolve(_ node: Any?, in table: [String: Any]) -> [String: Any]? {
            guard let object = node as? [String: Any] else { return nil }
            guard let reference = object["$ref"] as? String, let name = reference.split(separator: "/").last else { return object }
            return table[String(name)] as? [String: Any]
        }
        var operations: [Operation] = []
        for (path, item) in (document["paths"] as? [String: Any]) ?? [:] {
            guard let item = item as? [String: Any] else { continue }
            let common = (item["parameters"] as? [Any]) ?? []
            for (method, node) in item {
                guard let httpMethod = HTTPRequest.Method(method.uppercased()), let operation = node as? [String: Any] else { continue }
                let parameters = (common + ((operation["parameters"] as? [Any]) ?? [])).compactMap { node -> Parameter? in
                    guard let parameter = resolve(node, in: sharedParameters), let name = parameter["name"] as? String,
                        let location = parameter["in"] as? String
                    else { return nil }
                    return Parameter(
                        name: name, location: location, required: parameter["required"] as? Bool ?? (location == "path"),
                        schema: Schema(parameter["schema"], components: schemas))
                }
                let requestBody = resolve(operation["requestBody"], in: bodies)
                let json = ((requestBody?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"]
                operations.append(
                    Operation(
                        id: operation["operationId"] as? String ?? "\(method) \(path)", method: httpMethod,
                        segments: path.split(separator: "/", omittingEmptySubsequences: true), parameters: parameters,
                        body: json.map { Schema($0, components: schemas) }, bodyRequired: requestBody?["required"] as? Bool ?? false,
                        maxBodyBytes: operation["x-max-body-bytes"] as? Int))
            }
        }
        self.operations = operations
        self.operationsBySegmentCount = Dictionary(grouping: operations, by: \.segments.count)
    }

    /// The operations of `path`'s resource — the template that matches it with the most literal
    /// segments (`/problems/counts` before `/problems/{problemId}`) — with their path parameters;
    /// empty for an unknown path.
    func resource(_ path: String) -> [(operation: Operation, pathValues: [String: String])] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        let matches = (operationsBySegmentCount[segments.count] ?? []).compactMap { operation in
            operation.match(segments).map { (operation, $0.values, $0.literals) }
        }
        guard let best = matches.map(\.2).max() else { return [] }
        return matches.filter { $0.2 == best }.map { ($0.0, $0.1) }
    }

    /// The problems of a JSON body for the operation `operationId`, as a request would meet them:
    /// the console checks the bodies it builds from its forms here before calling the handler.
    func problems(operationId: String, body: Data) -> [Problem.FieldError] {
        guard let operation = operations.first(where: { $0.id == operationId }), let schema = operation.body else { return [] }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: body) else { return [.init("body", "is not valid JSON")] }
        return schema.problems(with: value, at: "")
    }

    enum ContractError: Error { case notAnObject }
}

extension APIContract.Parameter {
    /// The problems of a parameter's raw values (query values may repeat for a list).
    func problems(with values: [String]) -> [Problem.FieldError] {
        if values.isEmpty { return required ? [.init(name, "is required")] : [] }
        let isList = schema.types?.contains("array") == true
        let elementSchema = isList ? (schema.items.first ?? Schema()) : schema
        var elements: [JSONValue] = []
        for value in values {
            guard let element = Self.value(value, as: elementSchema) else {
                let rule = elementSchema.types?.contains("integer") == true ? "must be a whole number"
                    : elementSchema.types?.contains("boolean") == true ? "must be true or false" : "must be a number"
                return [.init(name, rule)]
            }
            elements.append(element)
        }
        if isList { return schema.problems(with: .array(elements), at: name) }
        if elements.count > 1 { return [.init(name, "must be given once")] }
        return schema.problems(with: elements[0], at: name)
    }

    private static func value(_ text: String, as schema: Schema) -> JSONValue? {
        let types = schema.types ?? ["string"]
        if types.contains("integer") {
            // In a URL a whole number is written with digits only: `1.0` and `1e3` are not ids.
            guard Patterns.isWholeNumber(text), let number = Double(text) else { return nil }
            return .number(number)
        }
        if types.contains("number") {
            guard let number = Double(text), number.isFinite,
                text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) })
            else { return nil }
            return .number(number)
        }
        if types.contains("boolean") {
            switch text {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return nil
            }
        }
        return .string(text)
    }
}

extension APIContract {
    /// The operations whose request body names an object by id (`…Id`, `…Ids`, anywhere in the body):
    /// each must resolve that id under the caller's scope.
    public func operationsNamingIdsInTheirBody() -> [String] {
        operations.filter { $0.body?.namesAnId() == true }.map(\.id).sorted()
    }
}

extension Schema {
    func namesAnId(depth: Int = 0) -> Bool {
        guard depth < 8 else { return false }
        return properties.contains { name, schema in
            name.hasSuffix("Id") || name.hasSuffix("Ids") || name == "id" || schema.namesAnId(depth: depth + 1)
        } || items.contains { $0.namesAnId(depth: depth + 1) } || allOf.contains { $0.namesAnId(depth: depth + 1) }
    }
}
