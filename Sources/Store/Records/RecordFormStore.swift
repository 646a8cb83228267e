import Domain
import Foundation
import Postgres

public struct RecordForm: Sendable {
    public var code: String
    public var version: Int
    public var title: String
    public var attachment: String
    public var fields: [FormField]
    public var publishedBy: Int64?
    public var publishedAt: Date
    public var note: String?
}

/// The record form versions, and publishing a new one (append-only in the database).
public struct RecordFormStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    public func all() async throws -> [RecordForm] {
        try await forms("true")
    }

    public func get(code: String, version: Int) async throws -> RecordForm? {
        try await forms("code = \(code) and version = \(version)").first
    }

    /// The version in force: the newest.
    public func latest(code: String) async throws -> RecordForm? {
        try await forms("code = \(code) and version = (select max(version) from huifang.record_forms where code = \(code))").first
    }

    private func forms(_ condition: SQL) async throws -> [RecordForm] {
        try await connection.query(
            "select code, version, title, attachment, fields, published_by, published_at, note from huifang.record_forms where "
                + condition + " order by code, version"
        ).map { row in
            RecordForm(
                code: try row.decode(0), version: try row.decode(1), title: try row.decode(2), attachment: try row.decode(3),
                fields: try row.decode(4, as: JSONB.self).decode([FormField].self), publishedBy: try row.decode(5),
                publishedAt: try row.decode(6), note: try row.decode(7))
        }
    }

    /// The next version of `code` with these fields (and title, or the latest's); nil when the form does not exist.
    public func publish(code: String, title: String?, fields: [FormField], note: String?, by staffId: Int64) async throws -> RecordForm? {
        let inserted = try await connection.query(
            """
            insert into huifang.record_forms (code, version, title, attachment, fields, published_by, note)
            select code, version + 1, coalesce(\(title), title), attachment, \(try JSONB(encoding: fields)), \(staffId), \(note)
            from huifang.record_forms where code = \(code) order by version desc limit 1
            returning version
            """
        ).first
        guard let inserted else { return nil }
        return try await get(code: code, version: try inserted.decode(0))
    }
}
