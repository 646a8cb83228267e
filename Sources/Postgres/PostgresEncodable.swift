import Foundation

/// A Swift value that can be bound as a statement parameter, in PostgreSQL's text input format.
public protocol PostgresEncodable: Sendable {
    /// The parameter's text, or `nil` for SQL NULL.
    var postgresText: String? { get }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText }
}

extension String: PostgresEncodable {
    public var postgresText: String? { self }
}

extension Substring: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Int: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Int16: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Int32: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Int64: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Double: PostgresEncodable {
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return "\(self)"
    }
}

extension Bool: PostgresEncodable {
    public var postgresText: String? { self ? "t" : "f" }
}

extension Decimal: PostgresEncodable {
    public var postgresText: String? {
        isNaN ? "NaN" : description
    }
}

extension UUID: PostgresEncodable {
    public var postgresText: String? { uuidString.lowercased() }
}

extension Date: PostgresEncodable {
    /// ISO 8601 in UTC with microseconds, so the server never guesses a time zone.
    public var postgresText: String? { PostgresTimestamp.format(self) }
}

extension Data: PostgresEncodable {
    /// bytea in hex format.
    public var postgresText: String? {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        bytes.reserveCapacity(2 + count * 2)
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Elements that may appear in a one-dimensional array parameter (`text[]`, `int8[]` …).
public protocol PostgresArrayElement: PostgresEncodable, PostgresDecodable {}
extension String: PostgresArrayElement {}
extension Int: PostgresArrayElement {}
extension Int32: PostgresArrayElement {}
extension Int64: PostgresArrayElement {}
extension UUID: PostgresArrayElement {}
extension Decimal: PostgresArrayElement {}
extension Bool: PostgresArrayElement {}
extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {}

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public var postgresText: String? {
        PostgresArray.format(map(\.postgresText))
    }
}
