import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listObligationRules(_ input: Operations.ListObligationRules.Input) async throws -> Operations.ListObligationRules.Output {
        let access = try authorize(.readOrganization)
        let rules = try await pool.transaction(for: access, readOnly: true) { try await ObligationRuleStore($0).all() }
        return .ok(.init(body: .json(rules.map(Components.Schemas.ObligationRule.init))))
    }

    func publishObligationRule(_ input: Operations.PublishObligationRule.Input) async throws -> Operations.PublishObligationRule.Output {
        let code = input.path.ruleCode.rawValue
        // Event rules are the HQ departments' that require the callbacks (Brokerage Ops Center, Risk Control).
        let isEventRule = code.hasPrefix("event_")
        let access = try authorize(isEventRule ? .manageEventRules : .manageRules)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems: [Problem.FieldError] = []
        let minAmount = Self.threshold(body.minAmount, field: "minAmount", pattern: #"^[0-9]{1,16}(\.[0-9]{1,2})?$"#,
                                       allowed: { $0 > 0 }, rule: code, problems: &problems)
        let minShare = Self.threshold(body.minShare, field: "minShare", pattern: #"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"#,
                                      allowed: { $0 > 0 && $0 <= 1 }, rule: code, problems: &problems)
        let effectiveFrom = Dates.parse(body.effectiveFrom)
        if effectiveFrom == nil { problems.append(.init("effectiveFrom", "must be a date YYYY-MM-DD")) }
        var coverage: Decimal?
        if let text = body.coveragePercent {
            coverage = Patterns.matches(text, #"^[0-9]{1,3}(\.[0-9]{1,2})?$"#)
                ? Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) : nil
            if coverage == nil || coverage! <= 0 || coverage! > 100 {
                problems.append(.init("coveragePercent", "must be a number above 0 and at most 100"))
            }
        }
        if let days = body.dueWorkdays, !(1...60).contains(days) { problems.append(.init("dueWorkdays", "must be 1 to 60")) }
        if let note = body.note { problems += Validate.text(note, field: "note", max: 2000) }
        try Validate.throwing(problems)
        let rule = try await pool.transaction(for: access) { db -> ObligationRule? in
            guard let rule = try await ObligationRuleStore(db).publish(
                code: code, effectiveFrom: effectiveFrom!, coveragePercent: coverage, dueWorkdays: body.dueWorkdays.map(Int.init),
                note: body.note, minAmount: minAmount, minShare: minShare)
            else { return nil }
            try await AuditLog(db).record(
                action: "obligation_rule.published", objectType: "obligation_rule", objectId: "\(code)/\(rule.version)",
                detail: try JSONB(encoding: [
                    "effectiveFrom": rule.effectiveFrom.description, "coveragePercent": rule.coveragePercent.twoDecimals,
                    "minAmount": rule.minAmount?.twoDecimals ?? "", "minShare": rule.minShare.map { "\($0)" } ?? "",
                ]))
            return rule
        }
        guard let rule else { throw AppError.notFound("rule") }
        return .created(.init(body: .json(.init(rule))))
    }

    /// A threshold of a new event-rule version: absent keeps it, "none" removes it, a number sets it.
    static func threshold(
        _ text: String?, field: String, pattern: String, allowed: (Decimal) -> Bool, rule: String, problems: inout [Problem.FieldError]
    ) -> ObligationRuleStore.Threshold {
        guard let text else { return .unchanged }
        guard rule == "event_large_asset_movement" else {
            problems.append(.init(field, "applies only to the large asset movement rule"))
            return .unchanged
        }
        if text == "none" { return .removed }
        guard Patterns.matches(text, pattern),
              let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), allowed(value)
        else {
            problems.append(.init(field, field == "minShare" ? "must be a share above 0 and at most 1, like 0.3, or none"
                                                             : "must be an amount in CNY above 0, like 500000.00, or none"))
            return .unchanged
        }
        return .set(value)
    }

    func getCoverage(_ input: Operations.GetCoverage.Input) async throws -> Operations.GetCoverage.Output {
        let access = try authorize(.readTasks)
        guard let period = Period(input.query.period), period.kind != .day else {
            throw AppError.invalid([.init("period", "must be YYYY-MM, YYYY-H1, YYYY-H2 or YYYY")])
        }
        let now = now()
        let rows = try await reports.transaction(for: access, adding: CoverageReport.settings) {
            try await CoverageReport($0).rows(
                for: period, branches: access.indexableBranches, branchId: input.query.branchId.map(Int.init), at: now)
        }
        return .ok(.init(body: .json(rows.map(Components.Schemas.CoverageRow.init))))
    }

    func flagClient(_ input: Operations.FlagClient.Input) async throws -> Operations.FlagClient.Output {
        let access = try authorize(.flagClients)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems = Validate.reason(body.reason)
        if body.fields.isEmpty { problems.append(.init("fields", "name at least one key field")) }
        try Validate.throwing(problems)
        let fields = Array(Set(body.fields.map(\.rawValue))).sorted()
        let source = access.allBranches ? "hq" : "branch"
        let flag = try await pool.transaction(for: access) { db -> ClientFlagStore.Flag? in
            guard let flag = try await ClientFlagStore(db).flag(
                clientId: input.path.clientId, branches: access.indexableBranches, fields: fields, reason: body.reason, source: source)
            else { return nil }
            try await AuditLog(db).record(
                action: "client.flagged", objectType: "client", objectId: String(flag.clientId), branchId: flag.branchId,
                reason: body.reason, detail: try JSONB(encoding: ["fields": fields]))
            return flag
        }
        guard let flag else { throw AppError.notFound("open client") }
        return .created(.init(body: .json(.init(
            id: flag.id, branchId: Int32(flag.branchId), clientId: flag.clientId, fields: flag.fields, reason: flag.reason,
            source: .init(rawValue: flag.source) ?? .branch, flaggedAt: flag.flaggedAt, taskId: flag.taskId))))
    }
}

extension Components.Schemas.ObligationRule {
    init(_ rule: ObligationRule) {
        self.init(
            code: .init(rawValue: rule.code) ?? .special, version: Int32(rule.version), effectiveFrom: rule.effectiveFrom.description,
            title: rule.title, articles: rule.articles, population: rule.population, coveragePercent: rule.coveragePercent.twoDecimals,
            cadence: .init(rawValue: rule.cadence) ?? .directive, dueWorkdays: rule.dueWorkdays.map(Int32.init),
            ownerRole: rule.ownerRole, executor: .init(rawValue: rule.executor) ?? .branch, recordForm: rule.recordForm,
            publishedBy: rule.publishedBy, publishedAt: rule.publishedAt, note: rule.note,
            eventKind: rule.eventKind.flatMap(Components.Schemas.ClientEventKind.init(rawValue:)),
            minAmount: rule.minAmount?.twoDecimals, minShare: rule.minShare.map { "\($0)" })
    }
}

extension Components.Schemas.CoverageRow {
    init(_ row: Store.CoverageRow) {
        self.init(
            branchId: Int32(row.branchId), branchCode: row.branchCode, ruleCode: .init(rawValue: row.ruleCode) ?? .special,
            period: row.period, population: Int32(row.population), required: Int32(row.required),
            requiredPercent: row.requiredPercent.twoDecimals, completedOnTime: Int32(row.completedOnTime),
            completedLate: Int32(row.completedLate), awaitingSignoff: Int32(row.awaitingSignoff), unreachable: Int32(row.unreachable),
            cancelled: Int32(row.cancelled), overdue: Int32(row.overdue), open: Int32(row.open), unclassified: row.unclassified.map(Int32.init),
            coveragePercent: row.coveragePercent?.twoDecimals, attemptedPercent: row.attemptedPercent?.twoDecimals, met: row.met)
    }
}
