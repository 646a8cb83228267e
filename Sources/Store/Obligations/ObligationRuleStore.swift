import Foundation
import Postgres

public struct ObligationRule: Sendable {
    public var code: String
    public var version: Int
    public var effectiveFrom: PostgresDate
    public var title: String
    public var articles: String
    public var population: String
    public var coveragePercent: Decimal
    public var cadence: String
    public var dueWorkdays: Int?
    public var ownerRole: String
    public var executor: String
    public var recordForm: String
    public var publishedBy: Int64?
    public var publishedAt: Date
    public var note: String?
}

/// The rule versions, and publishing a new one (the database keeps history append-only and
/// refuses versions below the regulation's floors).
public struct ObligationRuleStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// The record form a rule's callbacks are recorded on.
    public func recordForm(rule: String, version: Int) async throws -> String {
        try await connection.query(
            "select record_form from huifang.obligation_rules where code = \(rule) and version = \(version)"
        ).single().decode(0)
    }

    public func all() async throws -> [ObligationRule] {
        try await rules("true")
    }

    private func rules(_ condition: SQL) async throws -> [ObligationRule] {
        try await connection.query(
            """
            select code, version, effective_from, title, articles, population, coverage_percent, cadence, due_workdays,
                   owner_role, executor, record_form, published_by, published_at, note
            from huifang.obligation_rules where
            """ + " " + condition + " order by code, version"
        ).map { row in
            ObligationRule(
                code: try row.decode(0), version: try row.decode(1), effectiveFrom: try row.decode(2), title: try row.decode(3),
                articles: try row.decode(4), population: try row.decode(5), coveragePercent: try row.decode(6),
                cadence: try row.decode(7), dueWorkdays: try row.decode(8), ownerRole: try row.decode(9),
                executor: try row.decode(10), recordForm: try row.decode(11), publishedBy: try row.decode(12),
                publishedAt: try row.decode(13), note: try row.decode(14))
        }
    }

    /// A new version of `code` from `effectiveFrom`, changing coverage or due days; the rest is
    /// carried over. Nil when the rule does not exist.
    public func publish(
        code: String, effectiveFrom: PostgresDate, coveragePercent: Decimal?, dueWorkdays: Int?, note: String?, by staffId: Int64
    ) async throws -> ObligationRule? {
        let inserted = try await connection.query(
            """
            insert into huifang.obligation_rules (code, version, effective_from, title, articles, population, coverage_percent,
                                                  cadence, due_workdays, owner_role, executor, record_form, published_by, note)
            select code, version + 1, \(effectiveFrom), title, articles, population, coalesce(\(coveragePercent), coverage_percent),
                   cadence, case when due_workdays is null then null else coalesce(\(dueWorkdays), due_workdays) end,
                   owner_role, executor, record_form, \(staffId), \(note)
            from huifang.obligation_rules where code = \(code) order by version desc limit 1
            returning version
            """
        ).first
        guard let inserted else { return nil }
        let version: Int = try inserted.decode(0)
        return try await rules("code = \(code) and version = \(version)").first
    }
}
