import Foundation

/// A statement with its parameters, written as Swift string interpolation.
///
///     let sql: SQL = "select name from huifang.branches where id = \(id)"
///
/// renders `… where id = $1` and binds `id`: values never become part of the SQL text.
/// `\(unescaped:)` splices trusted SQL text (identifiers chosen by code, never by input).
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var text: String
    public private(set) var parameters: [String?]

    public init(_ text: String) {
        self.text = text
        self.parameters = []
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// A parameter's value as a quoted SQL literal (`null` for NULL), for tools that take statement
    /// text only: pgbench scripts, `EXECUTE name(…)`. Never for what the application runs.
    public static func literal(_ value: String?) -> String {
        value.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "null"
    }

    /// The text with each parameter written in as a literal (`$10` before `$1`); see `literal(_:)`.
    public var inlined: String {
        var text = self.text
        for (index, value) in parameters.enumerated().reversed() {
            text = text.replacingOccurrences(of: "$\(index + 1)", with: Self.literal(value))
        }
        return text
    }

    public init(stringInterpolation: StringInterpolation) {
        self.text = stringInterpolation.text
        self.parameters = stringInterpolation.parameters
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        var parameters: [String?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 3)
            parameters.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            text += literal
        }

        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            parameters.append(value.postgresText)
            text += "$\(parameters.count)"
        }

        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            parameters.append(value?.postgresText)
            text += "$\(parameters.count)"
        }

        /// Appends another fragment, renumbering its parameters after the ones already bound.
        public mutating func appendInterpolation(_ fragment: SQL) {
            text += fragment.renumbered(after: parameters.count)
            parameters += fragment.parameters
        }

        /// Splices trusted SQL text chosen by code (a column name from a fixed list, say).
        public mutating func appendInterpolation(unescaped sqlText: String) {
            text += sqlText
        }
    }

    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var result = lhs
        result.text += rhs.renumbered(after: lhs.parameters.count)
        result.parameters += rhs.parameters
        return result
    }

    /// Joins fragments with a separator, e.g. conditions with " and ".
    public static func joined(_ fragments: [SQL], separator: String) -> SQL {
        guard var result = fragments.first else { return SQL("") }
        for fragment in fragments.dropFirst() {
            result = result + SQL(separator) + fragment
        }
        return result
    }

    public var description: String { text }

    /// The text with `$n` placeholders shifted by `offset`, for concatenation.
    private func renumbered(after offset: Int) -> String {
        guard offset > 0, !parameters.isEmpty else { return text }
        var output = ""
        output.reserveCapacity(text.utf8.count + parameters.count)
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "$" {
                var end = text.index(after: index)
                while end < text.endIndex, text[end].isASCII, text[end].isNumber { end = text.index(after: end) }
                if let number = Int(text[text.index(after: index)..<end]) {
                    output += "$\(number + offset)"
                    index = end
                    continue
                }
            }
            output.append(character)
            index = text.index(after: index)
        }
        return output
    }
}
