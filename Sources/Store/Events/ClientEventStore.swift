import Foundation
import Postgres

/// An event the core system reports of a client (Art 10), as sent.
public struct ClientEventInput: Sendable {
    public var externalId: String
    public var branchCode: String
    public var clientNo: String
    public var kind: String
    public var occurredAt: Date
    public var amount: Decimal?
    /// JSON object text.
    public var detail: String

    public init(externalId: String, branchCode: String, clientNo: String, kind: String, occurredAt: Date, amount: Decimal?, detail: String) {
        self.externalId = externalId
        self.branchCode = branchCode
        self.clientNo = clientNo
        self.kind = kind
        self.occurredAt = occurredAt
        self.amount = amount
        self.detail = detail
    }
}

/// What an event became: judged against the event rule in effect, and its special callback.
public struct ClientEventOutcome: Sendable, Equatable {
    public var externalId: String
    public var eventId: Int64
    public var duplicate: Bool
    public var qualifies: Bool
    public var judgement: String
    public var ruleCode: String?
    public var ruleVersion: Int?
    public var taskId: Int64?
}

public enum ClientEventError: Error, Sendable, Equatable {
    /// Events (by position in the batch) naming a branch or client the caller cannot reach.
    case unknownClients([Int])
    /// Events (by position) whose external id was received before with another client, kind, time
    /// or amount: not the same event sent again.
    case conflicting([Int])
}

/// Receives client events: the database judges each (trigger `client_events_judge`) and opens the
/// special callbacks of the qualifying ones in the same statement (`client_events_open_tasks`).
public struct ClientEventStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// Inserts the events new to their branch (by external id) and returns every event's outcome in
    /// the order sent. Throws `unknownClients` when a branch code or client number is not one the
    /// caller's scope can see (another branch's client reads as a missing one), and nothing is inserted.
    public func receive(_ events: [ClientEventInput], source: String, by staffId: Int64?) async throws -> [ClientEventOutcome] {
        // Times and amounts travel as text arrays ('' for no amount): exact, whatever the session's time zone.
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let times = events.map { iso.string(from: $0.occurredAt) }
        let amounts = events.map { $0.amount.map { "\($0)" } ?? "" }
        // One statement resolves the clients, inserts (only when all resolve) and reports each event as
        // judged: the judgement comes back from the insert (set by the before-insert trigger), or from
        // the event received before.
        let rows = try await connection.query(
            """
            with sent as (
                select s.*, c.branch_id, c.id as client_id
                from unnest(\(events.map(\.branchCode))::text[], \(events.map(\.clientNo))::text[], \(events.map(\.externalId))::text[],
                            \(events.map(\.kind))::text[], \(times)::text[], \(amounts)::text[], \(events.map(\.detail))::text[])
                     with ordinality as s (code, no, external_id, kind, occurred_at, amount, detail, n)
                left join huifang.branches b on b.code = s.code
                left join huifang.clients c on c.branch_id = b.id and c.client_no = s.no
            ), inserted as (
                insert into huifang.client_events
                    (branch_id, client_id, external_id, kind, occurred_at, amount, detail, source, received_by)
                select branch_id, client_id, external_id, kind, occurred_at::timestamptz, nullif(amount, '')::numeric, detail::jsonb,
                       \(source), \(staffId)
                from sent
                where not exists (select from sent where client_id is null)
                order by n
                on conflict (branch_id, external_id) do nothing
                returning branch_id, id, external_id, qualifies, judgement, rule_code, rule_version
            )
            select s.client_id is null, s.external_id, coalesce(i.id, e.id), i.id is null,
                   e.id is not null and (e.client_id, e.kind, e.occurred_at, e.amount)
                       is distinct from (s.client_id, s.kind, s.occurred_at::timestamptz, nullif(s.amount, '')::numeric),
                   coalesce(i.qualifies, e.qualifies), coalesce(i.judgement, e.judgement),
                   coalesce(i.rule_code, e.rule_code), coalesce(i.rule_version, e.rule_version), s.branch_id
            from sent s
            left join inserted i on i.branch_id = s.branch_id and i.external_id = s.external_id
            left join huifang.client_events e on e.branch_id = s.branch_id and e.external_id = s.external_id
            order by s.n
            """)
        let unknown = try rows.enumerated().filter { try $0.element.decode(0, as: Bool.self) }.map(\.offset)
        guard unknown.isEmpty else { throw ClientEventError.unknownClients(unknown) }
        let conflicting = try rows.enumerated().filter { try $0.element.decode(4, as: Bool.self) }.map(\.offset)
        guard conflicting.isEmpty else { throw ClientEventError.conflicting(conflicting) }
        var outcomes = try rows.map { row in
            ClientEventOutcome(
                externalId: try row.decode(1), eventId: try row.decode(2), duplicate: try row.decode(3), qualifies: try row.decode(5),
                judgement: try row.decode(6), ruleCode: try row.decode(7), ruleVersion: try row.decode(8), taskId: nil)
        }
        // The callbacks are opened by the insert's statement trigger, after its rows were returned.
        let branches = try rows.map { try $0.decode(9, as: Int.self) }
        var tasks: [Int64: Int64] = [:]
        for row in try await connection.query(
            """
            select event_id, id from huifang.callback_tasks
            where branch_id = any(\(branches)) and event_id = any(\(outcomes.map(\.eventId)))
            """
        ) {
            tasks[try row.decode(0)] = try row.decode(1)
        }
        for index in outcomes.indices { outcomes[index].taskId = tasks[outcomes[index].eventId] }
        return outcomes
    }
}

extension Array where Element == ClientEventOutcome {
    /// What a batch brought that was new: events received, duplicates, qualifying events, callbacks opened.
    public var counts: (received: Int, duplicates: Int, qualifying: Int, tasksCreated: Int) {
        let fresh = filter { !$0.duplicate }
        return (fresh.count, count - fresh.count, fresh.filter(\.qualifies).count, fresh.filter { $0.taskId != nil }.count)
    }
}
