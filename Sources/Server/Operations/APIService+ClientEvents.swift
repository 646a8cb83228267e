import API
import Domain
import Foundation
import OpenAPIRuntime
import Postgres
import Store

extension APIService {
    func submitClientEvents(_ input: Operations.SubmitClientEvents.Input) async throws -> Operations.SubmitClientEvents.Output {
        let access = try authorize(.submitClientEvents)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let latest = now().addingTimeInterval(300)
        var problems: [Problem.FieldError] = []
        var events: [ClientEventInput] = []
        var seen: [String: Int] = [:]
        for (index, event) in body.events.enumerated() {
            let field = "events[\(index)]"
            var eventProblems: [Problem.FieldError] = []
            if !Patterns.matches(event.externalId, #"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"#) {
                eventProblems.append(.init("\(field).externalId", "must be 1–128 letters, digits or . _ : / -, starting with a letter or digit"))
            } else if let first = seen["\(event.branchCode)\u{1f}\(event.externalId)"] {
                eventProblems.append(.init("\(field).externalId", "repeats events[\(first)] of the same branch"))
            } else {
                seen["\(event.branchCode)\u{1f}\(event.externalId)"] = index
            }
            eventProblems += Validate.text(event.branchCode, field: "\(field).branchCode", max: 32)
                + Validate.text(event.clientNo, field: "\(field).clientNo", max: 64)
            if event.occurredAt > latest { eventProblems.append(.init("\(field).occurredAt", "must not be in the future")) }
            var amount: Decimal?
            if event.kind == .largeAssetMovement {
                if let text = event.amount {
                    // numeric(18, 2): at most 16 digits before the point.
                    let valid = Patterns.matches(text, #"^[0-9]{1,16}(\.[0-9]{1,2})?$"#)
                    if !valid { eventProblems.append(.init("\(field).amount", "must be an amount in CNY like 1200000.00, below 10^16")) }
                    if valid { amount = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) }
                    if amount == 0 { eventProblems.append(.init("\(field).amount", "must be above 0")) }
                } else {
                    eventProblems.append(.init("\(field).amount", "is required for a large asset movement"))
                }
            } else if event.amount != nil {
                eventProblems.append(.init("\(field).amount", "applies only to large asset movements"))
            }
            var detail = "{}"
            if let object = event.detail {
                detail = String(decoding: try JSONEncoder().encode(object), as: UTF8.self)
                if detail.count > 4000 { eventProblems.append(.init("\(field).detail", "must be at most 4,000 characters as JSON")) }
            }
            problems += eventProblems
            if problems.count >= 50 { break }
            events.append(.init(
                externalId: event.externalId, branchCode: event.branchCode, clientNo: event.clientNo, kind: event.kind.rawValue,
                occurredAt: event.occurredAt, amount: amount, detail: detail))
        }
        try Validate.throwing(problems)
        let outcomes = try await pool.transaction(for: access) { db -> [ClientEventOutcome] in
            let outcomes: [ClientEventOutcome]
            do {
                outcomes = try await ClientEventStore(db).receive(events, source: "api", by: access.staffId)
            } catch ClientEventError.unknownClients(let positions) {
                throw AppError.invalid(positions.prefix(50).map {
                    .init("events[\($0)].clientNo", "no client \(events[$0].clientNo) in a branch \(events[$0].branchCode) you can reach")
                })
            } catch ClientEventError.conflicting(let positions) {
                throw AppError.conflict(
                    positions.prefix(20).map { "events[\($0)] (\(events[$0].externalId)) was received before with another client, kind, time or amount" }
                        .joined(separator: "; ") + "; nothing in this batch was received")
            }
            let counts = outcomes.counts
            // The feed reaches every branch: the batch is audited on the organization's chain.
            try await AuditLog(db).record(
                action: "client_events.received", objectType: "client_event", objectId: nil, branchId: nil,
                detail: try JSONB(encoding: [
                    "received": counts.received, "duplicates": counts.duplicates, "qualifying": counts.qualifying,
                    "tasksCreated": counts.tasksCreated,
                ]))
            return outcomes
        }
        let counts = outcomes.counts
        return .ok(.init(body: .json(.init(
            received: Int32(counts.received), duplicates: Int32(counts.duplicates), qualifying: Int32(counts.qualifying),
            tasksCreated: Int32(counts.tasksCreated),
            items: outcomes.map {
                .init(
                    externalId: $0.externalId, eventId: $0.eventId, duplicate: $0.duplicate, qualifies: $0.qualifies,
                    judgement: $0.judgement, ruleCode: $0.ruleCode.flatMap(Components.Schemas.RuleCode.init(rawValue:)),
                    ruleVersion: $0.ruleVersion.map(Int32.init), taskId: $0.taskId)
            }))))
    }
}
