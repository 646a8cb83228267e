import Foundation

/// A `json`/`jsonb` value as its JSON text.
public struct JSONB: Sendable, Hashable, PostgresEncodable, PostgresDecodable {
    public var text: String

    public init(text: String) {
        self.text = text
    }

    /// Encodes a Codable value; keys are sorted so equal values give equal text.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public init(postgresText text: String) { self.text = text }

    public var postgresText: String? { text }

    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(T.self, from: Data(text.utf8))
    }
}
