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
    /// Event rules (cadence `event`): the client event kind, and for large movements the thresholds.
    public var eventKind: String?
    public var minAmount: Decimal?
    public var minShare: Decimal?
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
                   owner_role, executor, record_form, published_by, published_at, note, event_kind, min_amount, min_share
            from huifang.obligation_rules where
            """ + " " + condition + " order by code, version"
        ).map { row in
            ObligationRule(
                code: try row.decode(0), version: try row.decode(1), effectiveFrom: try row.decode(2), title: try row.decode(3),
                articles: try row.decode(4), population: try row.decode(5), coveragePercent: try row.decode(6),
                cadence: try row.decode(7), dueWorkdays: try row.decode(8), ownerRole: try row.decode(9),
                executor: try row.decode(10), recordForm: try row.decode(11), publishedBy: try row.decode(12),
                publishedAt: try row.decode(13), note: try row.decode(14), eventKind: try row.decode(15),
                minAmount: try row.decode(16), minShare: try row.decode(17))
        }
    }

    /// A threshold of a new version: kept from the latest version, replaced, or removed.
    public enum Threshold: Sendable {
        case unchanged
        case set(Decimal)
        case removed
    }

    /// A new version of `code` from `effectiveFrom`, changing coverage, due days or thresholds; the
    /// rest is carried over. Nil when the rule does not exist.
    public func publish(
        code: String, effectiveFrom: PostgresDate, coveragePercent: Decimal?, dueWorkdays: Int?, note: String?,
        minAmount: Threshold = .unchanged, minShare: Threshold = .unchanged
    ) async throws -> ObligationRule? {
        func sql(_ threshold: Threshold, column: SQL) -> SQL {
            switch threshold {
            case .unchanged: column
            case .set(let value): "\(value)::numeric"
            case .removed: "null::numeric"
            }
        }
        // Who published it is the database's to record (trigger obligation_rules_append_only); a new
        // movement threshold is described in the version's own population text.
        let amount = sql(minAmount, column: "min_amount"), share = sql(minShare, column: "min_share")
        let inserted = try await connection.query(
            """
            insert into huifang.obligation_rules (code, version, effective_from, title, articles, population, coverage_percent,
                                                  cadence, due_workdays, owner_role, executor, record_form, note,
                                                  event_kind, min_amount, min_share)
            select code, version + 1, \(effectiveFrom), title, articles,
                   case when event_kind = 'large_asset_movement' then 'every movement of at least ' || concat_ws(' or ',
                       to_char(m.amount, 'FM999,999,999,999,990.00') || ' CNY',
                       to_char(m.share * 100, 'FM990.99') || ' % of the client''s assets on the last snapshot before it')
                   else population end,
                   coalesce(\(coveragePercent), coverage_percent),
                   cadence, case when due_workdays is null then null else coalesce(\(dueWorkdays), due_workdays) end,
                   owner_role, executor, record_form, \(note), event_kind, m.amount, m.share
            from huifang.obligation_rules
            cross join lateral (select
            """ + " " + amount + " as amount, " + share + " as share) m " + """
            where code = \(code) order by version desc limit 1
            returning version
            """
        ).first
        guard let inserted else { return nil }
        let version: Int = try inserted.decode(0)
        return try await rules("code = \(code) and version = \(version)").first
    }
}
