import Foundation
import Postgres

/// Clients of the branches the transaction's scope reaches; row-level security filters every query,
/// so a client of another branch is simply not found.
public struct ClientStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// Client columns, then the classification on the latest snapshot up to `today`.
    private static func select(today: PostgresDate) -> SQL {
        """
        select c.id, c.branch_id, c.client_no, c.name, c.id_type, c.id_number, c.phone, c.opened_at, c.status,
               c.closed_at, c.referrer_staff_id, c.referrer_broker_id,
               s.as_of, s.total_assets, s.last_trade_date, s.total_assets >= 10000000,
               case
                   when s.as_of is null then null
                   when (b.core_top_n is null and s.total_assets >= b.core_min_assets)
                     or (b.core_top_n is not null and (
                         select count(*) from huifang.client_segments(\(today)) x
                         where x.branch_id = c.branch_id and x.total_assets > s.total_assets) < b.core_top_n)
                   then 'core'
                   when coalesce(s.last_trade_date, (c.opened_at at time zone 'Asia/Shanghai')::date)
                        < \(today)::date - b.dormant_after_days then 'dormant'
                   else 'small_medium'
               end
        from huifang.clients c
        join huifang.branches b on b.id = c.branch_id
        left join lateral (
            select as_of, total_assets, last_trade_date from huifang.client_asset_snapshots s
            where s.branch_id = c.branch_id and s.client_id = c.id and s.as_of <= \(today)
            order by s.as_of desc, s.revision desc limit 1
        ) s on true
        """
    }

    private func clients(_ rows: QueryResult) throws -> [Client] {
        try rows.map { row in
            var client = Client(
                id: try row.decode(0), branchId: try row.decode(1), clientNo: try row.decode(2), name: try row.decode(3),
                idType: try row.decode(4), idNumber: try row.decode(5), phone: try row.decode(6),
                openedAt: try row.decode(7), status: try row.decode(8), closedAt: try row.decode(9),
                referrerStaffId: try row.decode(10), referrerBrokerId: try row.decode(11), classification: nil)
            if let asOf: PostgresDate = try row.decode(12) {
                client.classification = Classification(
                    asOf: asOf, totalAssets: try row.decode(13), lastTradeDate: try row.decode(14),
                    highNetWorth: try row.decode(15), segment: try row.decode(16))
            }
            return client
        }
    }

    public struct Filter: Sendable {
        public var branchId: Int?
        public var status: String?
        public var brokerIntroduced: Bool?
        public var segment: String?
        public var highNetWorth: Bool?
        public var referrerStaffId: Int64?
        public var referrerBrokerId: Int64?
        public var openedFrom: Date?
        public var openedTo: Date?
        public init() {}
    }

    /// Ordered by (branch, id); `after` is the last (branch, id) of the previous page. `branches`
    /// repeats the scope's branch list (nil for all branches) so the planner can use the
    /// (branch_id, …) indexes; row-level security enforces it regardless. Only the filters given
    /// appear in the SQL, so every plan is specific to the query asked.
    public func list(
        _ filter: Filter, branches: [Int]?, today: PostgresDate, after: (branch: Int, id: Int64)?, limit: Int
    ) async throws -> Page<Client> {
        var conditions: [SQL] = []
        if let branches { conditions.append("c.branch_id = any(\(branches))") }
        if let branch = filter.branchId { conditions.append("c.branch_id = \(branch)") }
        if let status = filter.status { conditions.append("c.status = \(status)") }
        if let introduced = filter.brokerIntroduced {
            conditions.append(introduced ? "c.referrer_broker_id is not null" : "c.referrer_broker_id is null")
        }
        if let staff = filter.referrerStaffId { conditions.append("c.referrer_staff_id = \(staff)") }
        if let broker = filter.referrerBrokerId { conditions.append("c.referrer_broker_id = \(broker)") }
        if let from = filter.openedFrom { conditions.append("c.opened_at >= \(from)") }
        if let to = filter.openedTo { conditions.append("c.opened_at < \(to)") }
        if let after { conditions.append("(c.branch_id, c.id) > (\(after.branch), \(after.id))") }
        var outer: [SQL] = []
        if let segment = filter.segment { outer.append("segment = \(segment)") }
        if let rich = filter.highNetWorth { outer.append("high_net_worth = \(rich)") }
        var query = "select * from (" + Self.select(today: today)
        if !conditions.isEmpty { query = query + " where " + SQL.joined(conditions, separator: " and ") }
        query = query + """
             order by c.branch_id, c.id
            ) x (id, branch_id, client_no, name, id_type, id_number, phone, opened_at, status, closed_at,
                 referrer_staff_id, referrer_broker_id, as_of, total_assets, last_trade_date, high_net_worth, segment)
            """
        if !outer.isEmpty { query = query + " where " + SQL.joined(outer, separator: " and ") }
        query = query + " order by branch_id, id limit \(limit + 1)"
        let rows = try clients(try await connection.query(query))
        return Cursor.page(rows, limit: limit) { Cursor.encode(Int64($0.branchId), $0.id) }
    }

    /// One client by id; `branches` as for `list`.
    public func get(_ id: Int64, branches: [Int]?, today: PostgresDate) async throws -> Client? {
        let query = Self.select(today: today) + " where " + .branch("c.branch_id", in: branches) + " and c.id = \(id)"
        return try clients(try await connection.query(query)).first
    }

    public struct Input: Sendable {
        public var branchId: Int
        public var clientNo: String
        public var name: String
        public var idType: String
        public var idNumber: String
        public var phone: String?
        public var openedAt: Date
        public var referrerStaffId: Int64?
        public var referrerBrokerId: Int64?
        public init(branchId: Int, clientNo: String, name: String, idType: String, idNumber: String, phone: String?, openedAt: Date, referrerStaffId: Int64?, referrerBrokerId: Int64?) {
            self.branchId = branchId
            self.clientNo = clientNo
            self.name = name
            self.idType = idType
            self.idNumber = idNumber
            self.phone = phone
            self.openedAt = openedAt
            self.referrerStaffId = referrerStaffId
            self.referrerBrokerId = referrerBrokerId
        }
    }

    /// The account-opening event: inserts the client and returns its id.
    public func create(_ input: Input) async throws -> Int64 {
        try await connection.query(
            """
            insert into huifang.clients (branch_id, client_no, name, id_type, id_number, phone, opened_at,
                                         referrer_staff_id, referrer_broker_id)
            values (\(input.branchId), \(input.clientNo), \(input.name), \(input.idType), \(input.idNumber),
                    \(input.phone), \(input.openedAt), \(input.referrerStaffId), \(input.referrerBrokerId))
            returning id
            """
        ).single().decode(0)
    }

    public struct Patch: Sendable {
        public var name: String?
        public var idType: String?
        public var idNumber: String?
        public var phone: String?
        /// Set only with the right to change referrers; `.some(nil)` clears.
        public var referrerStaffId: Int64??
        public var referrerBrokerId: Int64??
        public init() {}
    }

    /// Applies the patch to an open or closed client; returns the branch of the changed row, nil when none.
    public func update(_ id: Int64, in branches: [Int], _ patch: Patch) async throws -> Int? {
        let setStaff = patch.referrerStaffId != nil
        let setBroker = patch.referrerBrokerId != nil
        let staff = patch.referrerStaffId ?? nil
        let broker = patch.referrerBrokerId ?? nil
        return try await connection.query(
            """
            update huifang.clients set
                name = coalesce(\(patch.name), name), id_type = coalesce(\(patch.idType), id_type),
                id_number = coalesce(\(patch.idNumber), id_number), phone = coalesce(\(patch.phone), phone),
                referrer_staff_id = case when \(setStaff) then \(staff) else referrer_staff_id end,
                referrer_broker_id = case when \(setBroker) then \(broker) else referrer_broker_id end,
                updated_at = now()
            where branch_id = any(\(branches)) and id = \(id)
            returning branch_id
            """
        ).first?.decode(0)
    }

    public enum CloseResult: Sendable {
        case closed(branchId: Int)
        case alreadyClosed
        case notFound
    }

    public func close(_ id: Int64, in branches: [Int], at closedAt: Date) async throws -> CloseResult {
        let rows = try await connection.query(
            """
            with target as (select branch_id, status from huifang.clients where branch_id = any(\(branches)) and id = \(id)),
            closed as (
                update huifang.clients c set status = 'closed', closed_at = \(closedAt), updated_at = now()
                from target t where c.branch_id = any(\(branches)) and c.branch_id = t.branch_id and c.id = \(id) and t.status = 'open'
                returning c.branch_id
            )
            select t.branch_id, t.status, (select count(*) from closed) from target t
            """)
        guard let row = rows.first else { return .notFound }
        let changed: Int = try row.decode(2)
        return changed == 1 ? .closed(branchId: try row.decode(0)) : .alreadyClosed
    }

    // Snapshots

    /// The snapshots of a client of `branch` (the client's own, as `get` read it).
    public func snapshots(of clientId: Int64, in branch: Int) async throws -> [AssetSnapshot] {
        try await connection.query(
            """
            select client_id, as_of, total_assets, last_trade_date, revision, recorded_at, correction_reason
            from huifang.client_asset_snapshots
            where branch_id = \(branch) and client_id = \(clientId) order by as_of desc, revision desc
            """
        ).map { row in
            var snapshot = AssetSnapshot(
                clientId: try row.decode(0), asOf: try row.decode(1), totalAssets: try row.decode(2), lastTradeDate: try row.decode(3))
            snapshot.revision = try row.decode(4)
            snapshot.recordedAt = try row.decode(5)
            snapshot.correctionReason = try row.decode(6)
            return snapshot
        }
    }

    /// Stores snapshots of clients in scope, all or nothing; returns the ids of clients not found.
    /// Figures already recorded for a client and date are skipped; other figures for them are a
    /// correction (`updated`), the next revision, which needs `reason` (the database refuses without).
    /// `branches`: the caller's `routingBranches` (nil: row-level security alone decides).
    public func upsertSnapshots(_ snapshots: [AssetSnapshot], branches: [Int]?, reason: String? = nil) async throws
        -> (missing: [Int64], inserted: Int, updated: Int, unchanged: Int)
    {
        let ids = snapshots.map(\.clientId)
        let dates = snapshots.map { $0.asOf.description }
        let assets = snapshots.map { "\($0.totalAssets)" }
        let trades: [String?] = snapshots.map { $0.lastTradeDate?.description }
        let row = try await connection.query(
            """
            with input as (
                select * from unnest(\(ids)::bigint[], \(dates)::date[], \(assets)::numeric[], \(trades)::date[])
                    as i (client_id, as_of, total_assets, last_trade_date)
            ), matched as (
                select c.branch_id, i.* from input i join huifang.clients c on c.id = i.client_id
                where \(SQL.routed("c.branch_id", to: branches))
            ), written as (
                insert into huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets, last_trade_date, correction_reason)
                select branch_id, client_id, as_of, total_assets, last_trade_date, \(reason) from matched
                where (select count(*) from matched) = (select count(*) from input)
                returning (revision = 1) as inserted
            )
            select coalesce((select array_agg(distinct i.client_id order by i.client_id) from input i
                             where not exists (select from matched m where m.client_id = i.client_id)), '{}'),
                   (select count(*) filter (where inserted) from written),
                   (select count(*) filter (where not inserted) from written)
            """
        ).single()
        let missing: [Int64] = try row.decode(0)
        let inserted: Int = try row.decode(1)
        let updated: Int = try row.decode(2)
        return (missing, inserted, updated, missing.isEmpty ? snapshots.count - inserted - updated : 0)
    }
}
