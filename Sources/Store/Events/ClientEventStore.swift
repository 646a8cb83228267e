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
    /// caller's scope can see (another branch's client reads as a missing one).
    public func receive(_ events: [ClientEventInput], source: String, by staffId: Int64?) async throws -> [ClientEventOutcome] {
        let resolved = try await connection.query(
            """
            select e.n::int, c.branch_id, c.id
            from unnest(\(events.map(\.branchCode))::text[], \(events.map(\.clientNo))::text[]) with ordinality as e (code, no, n)
            left join huifang.branches b on b.code = e.code
            left join huifang.clients c on c.branch_id = b.id and c.client_no = e.no
            order by e.n
            """)
        var branches: [Int] = [], clients: [Int64] = [], unknown: [Int] = []
        for row in resolved {
            let position: Int = try row.decode(0)
            guard let branch: Int = try row.decode(1), let client: Int64 = try row.decode(2) else {
                unknown.append(position - 1)
                continue
            }
            branches.append(branch)
            clients.append(client)
        }
        guard unknown.isEmpty else { throw ClientEventError.unknownClients(unknown) }
        // Times and amounts travel as text arrays ('' for no amount): exact, whatever the session's time zone.
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let times = events.map { iso.string(from: $0.occurredAt) }
        let amounts = events.map { $0.amount.map { "\($0)" } ?? "" }
        let rows = try await connection.query(
            """
            with sent as (
                select * from unnest(\(branches)::int[], \(clients)::bigint[], \(events.map(\.externalId))::text[],
                                     \(events.map(\.kind))::text[], \(times)::text[], \(amounts)::text[], \(events.map(\.detail))::text[])
                              with ordinality as s (branch_id, client_id, external_id, kind, occurred_at, amount, detail, n)
            ), inserted as (
                insert into huifang.client_events
                    (branch_id, client_id, external_id, kind, occurred_at, amount, detail, source, received_by)
                select branch_id, client_id, external_id, kind, occurred_at::timestamptz, nullif(amount, '')::numeric, detail::jsonb,
                       \(source), \(staffId)
                from sent order by n
                on conflict (branch_id, external_id) do nothing
                returning branch_id, id, external_id
            )
            select s.external_id, coalesce(i.id, e.id), i.id is null,
                   e.id is not null and (e.client_id, e.kind, e.occurred_at, e.amount)
                       is distinct from (s.client_id, s.kind, s.occurred_at::timestamptz, nullif(s.amount, '')::numeric)
            from sent s
            left join inserted i on i.branch_id = s.branch_id and i.external_id = s.external_id
            left join huifang.client_events e on e.branch_id = s.branch_id and e.external_id = s.external_id
            order by s.n
            """)
        let conflicting = try rows.enumerated().filter { try $0.element.decode(3, as: Bool.self) }.map(\.offset)
        guard conflicting.isEmpty else { throw ClientEventError.conflicting(conflicting) }
        let ids = try rows.map { (externalId: try $0.decode(0, as: String.self), id: try $0.decode(1, as: Int64.self),
                                  duplicate: try $0.decode(2, as: Bool.self)) }
        // The judgement and the task are written by the statement's triggers: read them back.
        let judged = try await connection.query(
            """
            select e.id, e.qualifies, e.judgement, e.rule_code, e.rule_version,
                   (select t.id from huifang.callback_tasks t where t.branch_id = e.branch_id and t.event_id = e.id)
            from huifang.client_events e
            where e.branch_id = any(\(branches)) and e.id = any(\(ids.map { $0.id }))
            """)
        var byId: [Int64: (Bool, String, String?, Int?, Int64?)] = [:]
        for row in judged {
            byId[try row.decode(0)] = (try row.decode(1), try row.decode(2), try row.decode(3), try row.decode(4), try row.decode(5))
        }
        return ids.map { entry in
            let judged = byId[entry.id]
            return ClientEventOutcome(
                externalId: entry.externalId, eventId: entry.id, duplicate: entry.duplicate, qualifies: judged?.0 ?? false,
                judgement: judged?.1 ?? "", ruleCode: judged?.2, ruleVersion: judged?.3, taskId: judged?.4)
        }
    }
}
