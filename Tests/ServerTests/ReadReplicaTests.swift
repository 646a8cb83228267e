import Domain
import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import Postgres
import Server
import Store
import Testing
import TestSupport

/// Issue 22, part 3: monitoring, coverage, assessment and evaluation lists read on a hot standby
/// (`HUIFANG_READ_DATABASE_URL`), never staler than the primary was when the read began, and on the
/// primary when the standby is behind or down.
@Suite("Reports on a read replica")
struct ReadReplicaTests {
    static func configuration(_ pair: PrimaryAndStandby, maxLag: Duration, maxWait: Duration) throws -> AppConfiguration {
        var configuration = AppConfiguration(
            database: pair.primaryConfiguration(user: DatabaseRoles.application), poolSize: 2,
            migrations: try Migration.load(from: try MigrationsDirectory.locate()), logLevel: .critical)
        configuration.bcryptCost = 4
        configuration.readReplica = ReadReplicaConfiguration(
            database: pair.standbyConfiguration(user: DatabaseRoles.application), poolSize: 2, maxLag: maxLag,
            maxWait: maxWait, measureEvery: .milliseconds(50))
        return configuration
    }

    /// The reads the replica served and the ones that went to the primary, from `/metrics`.
    static func served(_ api: APIClient) async throws -> (replica: Int, primary: Int) {
        let text = try await api.send(.get, "/metrics").text
        func value(_ where_: String) -> Int {
            text.split(separator: "\n").first { $0.hasPrefix("huifang_read_replica_reads_total{served_by=\"\(where_)\"}") }
                .flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? -1
        }
        return (value("replica"), value("primary"))
    }

    static func replicaHealth(_ api: APIClient) async throws -> String {
        let checks = try await api.send(.get, "/health").json()["checks"] as? [[String: Any]] ?? []
        return checks.first { $0["name"] as? String == "read replica" }?["detail"] as? String ?? ""
    }

    static func standbyReplay(_ pair: PrimaryAndStandby, _ action: String) async throws {
        try await Pool.withPool(pair.standbyConfiguration(), logger: TestCluster.quietLogger) { pool in
            _ = try await pool.query("select pg_wal_replay_\(unescaped: action)()")
        }
    }

    /// Reports read on the standby; with its replay paused, a list that must show the evaluation the
    /// caller just opened reads on the primary instead (and shows it), then on the standby again once
    /// it has replayed it. Row-level security holds there as on the primary: branch B's director,
    /// reading on the standby, sees none of branch A's clients.
    @Test func reportsReadOnTheStandbySeeTheCallersOwnWriteAndKeepRowLevelSecurity() async throws {
        try await PrimaryAndStandby.with(synchronous: false) { pair in
            let app = try await buildApplication(try Self.configuration(pair, maxLag: .seconds(3600), maxWait: .seconds(5)))
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let center = try await api.token("opsCenter")
                try await waitUntil("the replica measured") { try await Self.replicaHealth(api).contains("reports read there") }

                let before = try await Self.served(api)
                #expect(try await api.send(.get, "/monitoring/overdue", token: center).status == .ok)
                #expect(try await api.send(.get, "/coverage?period=2026-07", token: center).status == .ok)
                let afterReports = try await Self.served(api)
                #expect(afterReports.replica == before.replica + 2)

                try await Self.standbyReplay(pair, "pause")
                let opened = try await api.send(.post, "/evaluations", token: center, json: ["branchId": pair.fixture.branchA, "year": 2026])
                #expect(opened.status == .created)
                let id = try #require(try opened.json()["id"] as? Int)
                let whilePaused = try await api.send(.get, "/evaluations?year=2026", token: center)
                #expect(try whilePaused.jsonArray().contains { $0["id"] as? Int == id }, "the caller's own write, read on the primary")
                let afterPaused = try await Self.served(api)
                #expect(afterPaused.primary == afterReports.primary + 1)
                #expect(afterPaused.replica == afterReports.replica)

                try await Self.standbyReplay(pair, "resume")
                let replayed = try await api.send(.get, "/evaluations?year=2026", token: center)
                #expect(try replayed.jsonArray().contains { $0["id"] as? Int == id })
                #expect(try await Self.served(api).replica == afterPaused.replica + 1)
            }

            // An attacker's read on the replica path: branch B's ops director asks for branch A's clients.
            try await Pool.withPool(pair.primaryConfiguration(user: DatabaseRoles.application), logger: TestCluster.quietLogger) { (primary: Pool) async throws in
                try await Pool.withPool(pair.standbyConfiguration(user: DatabaseRoles.application), logger: TestCluster.quietLogger) {
                    (standby: Pool) async throws in
                    let replica = ReadReplica(pool: standby, maxLag: .seconds(3600))
                    #expect(await replica.measure(primary: primary) == .replaying(lag: .zero))
                    let reads = ReportReads(primary: primary, replica: replica)
                    func clientsOfA(as staff: String, _ branch: Int) async throws -> Int {
                        let access = Access(
                            staffId: pair.fixture.staff[staff]!, action: .readClients, branchIds: [branch], allBranches: false, organization: false,
                            departmentIds: [])
                        return try await reads.transaction(for: access) {
                            try await $0.query("select count(*)::int from huifang.clients where branch_id = \(pair.fixture.branchA)").single().decode(0)
                        }
                    }
                    #expect(try await clientsOfA(as: "opsB", pair.fixture.branchB) == 0)
                    #expect(try await clientsOfA(as: "opsA", pair.fixture.branchA) > 0, "the same read in A's own scope finds them")
                    let served = replica.served
                    #expect(served.replica == 2 && served.primary == 0, "both ran on the standby")
                }
            }
        }
    }

    /// Behind by more than the bound (its replay paused while the primary writes) or down, the
    /// standby is not tried: reads answer from the primary and `/health` says why, still 200.
    @Test func readsFallBackToThePrimaryWhenTheStandbyIsBehindOrDownAndHealthSaysSo() async throws {
        try await PrimaryAndStandby.with(synchronous: false) { pair in
            let app = try await buildApplication(try Self.configuration(pair, maxLag: .milliseconds(100), maxWait: .milliseconds(300)))
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let center = try await api.token("opsCenter")
                try await waitUntil("the replica measured") { try await Self.replicaHealth(api).contains("reports read there") }

                try await Self.standbyReplay(pair, "pause")
                // A commit the standby does not replay: it does not catch up within the 300 ms a
                // measurement waits, which is over the bound.
                #expect(try await api.send(.post, "/evaluations", token: center, json: ["branchId": pair.fixture.branchA, "year": 2027]).status == .created)
                try await waitUntil("the replica found behind") { try await Self.replicaHealth(api).contains("over the bound") }
                let before = try await Self.served(api)
                let behind = try await api.send(.get, "/evaluations?year=2027", token: center)
                #expect(behind.status == .ok)
                #expect(try behind.jsonArray().count == 1)
                #expect(try await Self.served(api) == (before.replica, before.primary + 1))
                let health = try await api.send(.get, "/health")
                #expect(health.status == .ok)
                #expect(try health.json()["status"] as? String == "warn")

                try await Self.standbyReplay(pair, "resume")
                try await waitUntil("the replica caught up") { try await Self.replicaHealth(api).contains("reports read there") }

                try pair.standby.stop(mode: "immediate")
                try await waitUntil("the replica found down") { try await Self.replicaHealth(api).contains("unreachable") }
                let down = try await Self.served(api)
                #expect(try await api.send(.get, "/monitoring/overdue", token: center).status == .ok)
                #expect(try await Self.served(api) == (down.replica, down.primary + 1))
                #expect(try await api.send(.get, "/health").status == .ok)
            }
        }
    }
}
