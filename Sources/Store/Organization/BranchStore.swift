import Foundation
import Postgres

/// Branches and HQ departments: the organization chart. Policies let admins change them.
public struct BranchStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    private static let branchColumns: SQL =
        " id, code, name, region, status, dormant_after_days, core_min_assets, core_top_n"

    private func branches(_ rows: QueryResult) throws -> [Branch] {
        try rows.map { row in
            Branch(
                id: try row.decode(0), code: try row.decode(1), name: try row.decode(2), region: try row.decode(3),
                status: try row.decode(4), dormantAfterDays: try row.decode(5), coreMinAssets: try row.decode(6),
                coreTopN: try row.decode(7))
        }
    }

    public func list() async throws -> [Branch] {
        try branches(try await connection.query("select " + Self.branchColumns + " from huifang.branches order by code"))
    }

    public func get(_ id: Int) async throws -> Branch? {
        try branches(try await connection.query("select " + Self.branchColumns + " from huifang.branches where id = \(id)")).first
    }

    public struct Input: Sendable {
        public var code: String
        public var name: String
        public var region: String
        public var dormantAfterDays: Int?
        public var coreMinAssets: Decimal?
        public var coreTopN: Int?
        public init(code: String, name: String, region: String, dormantAfterDays: Int? = nil, coreMinAssets: Decimal? = nil, coreTopN: Int? = nil) {
            self.code = code
            self.name = name
            self.region = region
            self.dormantAfterDays = dormantAfterDays
            self.coreMinAssets = coreMinAssets
            self.coreTopN = coreTopN
        }
    }

    public func create(_ input: Input) async throws -> Branch {
        try branches(
            try await connection.query(
                """
                insert into huifang.branches (code, name, region, dormant_after_days, core_min_assets, core_top_n)
                values (\(input.code), \(input.name), \(input.region), coalesce(\(input.dormantAfterDays), 180),
                        coalesce(\(input.coreMinAssets), 1000000), \(input.coreTopN))
                returning
                """ + Self.branchColumns))[0]
    }

    public struct Patch: Sendable {
        public var name: String?
        public var region: String?
        public var status: String?
        public var dormantAfterDays: Int?
        public var coreMinAssets: Decimal?
        public var coreTopN: Int?
        public init(name: String? = nil, region: String? = nil, status: String? = nil, dormantAfterDays: Int? = nil, coreMinAssets: Decimal? = nil, coreTopN: Int? = nil) {
            self.name = name
            self.region = region
            self.status = status
            self.dormantAfterDays = dormantAfterDays
            self.coreMinAssets = coreMinAssets
            self.coreTopN = coreTopN
        }
    }

    public func update(_ id: Int, _ patch: Patch) async throws -> Branch? {
        try branches(
            try await connection.query(
                """
                update huifang.branches set
                    name = coalesce(\(patch.name), name), region = coalesce(\(patch.region), region),
                    status = coalesce(\(patch.status), status),
                    dormant_after_days = coalesce(\(patch.dormantAfterDays), dormant_after_days),
                    core_min_assets = coalesce(\(patch.coreMinAssets), core_min_assets),
                    core_top_n = coalesce(\(patch.coreTopN), core_top_n), updated_at = now()
                where id = \(id)
                returning
                """ + Self.branchColumns)).first
    }

    // Departments

    private func departments(_ rows: QueryResult) throws -> [Department] {
        try rows.map { row in
            Department(
                id: try row.decode(0), code: try row.decode(1), name: try row.decode(2), kind: try row.decode(3),
                status: try row.decode(4))
        }
    }

    public func listDepartments() async throws -> [Department] {
        try departments(try await connection.query("select id, code, name, kind, status from huifang.departments order by code"))
    }

    public func createDepartment(code: String, name: String, kind: String) async throws -> Department {
        try departments(
            try await connection.query(
                """
                insert into huifang.departments (code, name, kind) values (\(code), \(name), \(kind))
                returning id, code, name, kind, status
                """))[0]
    }

    public func updateDepartment(_ id: Int, name: String?, status: String?) async throws -> Department? {
        try departments(
            try await connection.query(
                """
                update huifang.departments set name = coalesce(\(name), name), status = coalesce(\(status), status),
                    updated_at = now()
                where id = \(id)
                returning id, code, name, kind, status
                """)).first
    }
}
