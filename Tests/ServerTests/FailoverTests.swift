import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import Postgres
import Server
import Store
import Synchronization
import Testing
import TestSupport

/// Issue 22, part 2: the primary dies under a burst of writes, the standby is promoted, and the
/// server finds the new primary by itself; every write it acknowledged is there.
@Suite("Failover to a promoted standby")
struct FailoverTests {
    /// `DATABASE_URL` names the standby first and the primary second, as a URL; `huifang`'s own
    /// derivation of the request role's connection keeps both hosts, and libpq skips the standby.
    /// Writers raise problems with Idempotency-Keys, repeating a write with the same key until it is
    /// answered (as a client must after a 503 or an outcome-unknown). The primary is stopped with
    /// `pg_ctl stop -m immediate` mid-burst and the synchronous standby promoted; the same server
    /// goes on writing to it. Every acknowledged write is on the new primary, none twice.
    @Test func aSynchronousStandbyTakesOverAndNoAcknowledgedWriteIsLost() async throws {
        try await PrimaryAndStandby.with(synchronous: true) { pair in
            let hosts = [pair.standby.socketDirectory, pair.primary.socketDirectory]
                .map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }.joined(separator: ",")
            let url = "postgresql://postgres@/\(PrimaryAndStandby.database)?host=\(hosts)&port=\(pair.standby.port),\(pair.primary.port)"
            let (_, application) = try #require(DatabaseRoles.connections(environment: ["DATABASE_URL": url]))
            #expect(application.conninfo == url, "the URL reaches libpq as written")

            var configuration = AppConfiguration(
                database: application, poolSize: 4, migrations: try Migration.load(from: try MigrationsDirectory.locate()), logLevel: .critical)
            configuration.bcryptCost = 4
            let app = try await buildApplication(configuration)
            let ledger = WriteLedger()
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let token = try await api.token("rpA")
                let me = try await api.send(.get, "/me", token: token)
                #expect(me.status == .ok)

                let writers = (0..<3).map { writer in
                    Task { await Self.write(api, token: token, clientId: pair.fixture.clientA, writer: writer, ledger: ledger) }
                }
                try await waitUntil("15 acknowledged writes on the first primary") { ledger.acknowledged.count >= 15 }
                let stopped = ContinuousClock.now
                try pair.primary.stop(mode: "immediate")
                ledger.markFailover(at: stopped)
                try pair.standby.promote()
                let promoted = ContinuousClock.now
                try await waitUntil("15 acknowledged writes on the promoted standby") { ledger.acknowledgedAfterFailover >= 15 }
                ledger.stop()
                for writer in writers { await writer.value }

                let acknowledged = ledger.acknowledged
                let counts = try await Pool.withPool(pair.standbyConfiguration(), logger: TestCluster.quietLogger) { pool in
                    #expect(try await pool.query("select pg_is_in_recovery()").single().decode(0, as: Bool.self) == false)
                    var counts: [String: Int] = [:]
                    for row in try await pool.query(
                        "select description, count(*)::int from huifang.problems where starts_with(description, 'failover ') group by 1")
                    {
                        counts[try row.decode(0, as: String.self)] = try row.decode(1, as: Int.self)
                    }
                    return counts
                }
                let lost = acknowledged.filter { counts[$0] == nil }
                #expect(lost.isEmpty, "acknowledged but not on the new primary: \(lost)")
                #expect(counts.values.allSatisfy { $0 == 1 }, "a write repeated with its key happened once")
                // Meanwhile: 503 (try again) or outcome-unknown (read, then repeat), never a bare 500 or a 4xx.
                #expect(ledger.failures.keys.allSatisfy { $0.hasPrefix("503") || $0 == "500 outcome-unknown" || $0 == "no answer" }, "\(ledger.failures)")
                let firstAfter = try #require(ledger.firstAcknowledgedAfterFailover)
                print(
                    "failover: \(acknowledged.count) writes acknowledged, \(lost.count) lost; promotion took \(promoted - stopped), "
                        + "first acknowledged write \(firstAfter - stopped) after the primary stopped; answers meanwhile: \(ledger.failures)")
            }
        }
    }

    /// One writer: a problem at a time, each with a marker and a fresh Idempotency-Key, repeated with
    /// the same key until answered 201 (or a 4xx, which is a failure of the test).
    static func write(_ api: APIClient, token: String, clientId: Int64, writer: Int, ledger: WriteLedger) async {
        var sequence = 0
        while !ledger.isStopped {
            sequence += 1
            let marker = "failover w\(writer) #\(sequence)"
            let key = UUID().uuidString
            while !ledger.isStopped {
                let reply = try? await api.send(
                    .post, "/problems", token: token,
                    json: ["clientId": clientId, "category": "service_need", "severity": "low", "description": marker], idempotencyKey: key)
                let type = reply.flatMap { try? $0.problem().type.split(separator: "/").last.map(String.init) } ?? ""
                // 409 idempotency-key-in-progress: the effect committed, its answer was not stored.
                if let reply, reply.status.code < 300 || type == "idempotency-key-in-progress" {
                    ledger.acknowledge(marker)
                    break
                }
                ledger.fail(reply.map { "\($0.status.code) \(type)" } ?? "no answer")
                if let reply, (400..<500).contains(reply.status.code) { break }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}

/// What the writers of a failover test saw.
final class WriteLedger: Sendable {
    private struct State {
        var acknowledged: [String] = []
        var acknowledgedAfterFailover = 0
        var failover: ContinuousClock.Instant?
        var firstAcknowledgedAfterFailover: ContinuousClock.Instant?
        var failures: [String: Int] = [:]
        var stopped = false
    }

    private let state = Mutex(State())

    var acknowledged: [String] { state.withLock { $0.acknowledged } }
    var acknowledgedAfterFailover: Int { state.withLock { $0.acknowledgedAfterFailover } }
    var firstAcknowledgedAfterFailover: ContinuousClock.Instant? { state.withLock { $0.firstAcknowledgedAfterFailover } }
    var failures: [String: Int] { state.withLock { $0.failures } }
    var isStopped: Bool { state.withLock { $0.stopped } }

    func acknowledge(_ marker: String) {
        state.withLock { state in
            state.acknowledged.append(marker)
            guard state.failover != nil else { return }
            state.acknowledgedAfterFailover += 1
            if state.firstAcknowledgedAfterFailover == nil { state.firstAcknowledgedAfterFailover = .now }
        }
    }

    func fail(_ answer: String) { state.withLock { $0.failures[answer, default: 0] += 1 } }
    func markFailover(at instant: ContinuousClock.Instant) { state.withLock { $0.failover = instant } }
    func stop() { state.withLock { $0.stopped = true } }
}
