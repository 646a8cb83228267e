import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Postgres
import Server
import ServiceLifecycle
import Store
import Testing
import TestSupport

/// A client that gives up (closes its connection) while its request waits on the database: the
/// statement is cancelled on the server instead of running on, holding a connection, for an answer
/// nobody reads. Without request deadlines, so only the disconnect can end it.
@Suite("A client that disconnects cancels its query")
struct ClientDisconnectTests {
    @Test func theQueryOfADisconnectedClientStops() async throws {
        try await withFixtureServerOnAPort { port, token, database, _ in
            try await database.withPool(size: 2) { owner in
                try await owner.withConnection { locker in
                    try await locker.run(script: "begin; lock table huifang.clients in access exclusive mode")
                    let client = TestClient(host: "127.0.0.1", port: port)
                    client.connect()
                    let waiting = Task { try? await client.get("/clients", headers: [.authorization: "Bearer \(token)"]) }
                    try await waitUntilWaiting(owner, forLockOn: "huifang.clients")

                    try? await client.shutdown()
                    // The lock is still held: only the cancellation can end the waiting statement.
                    try await waitUntilWaiting(owner, forLockOn: "huifang.clients", count: 0)
                    let active: Int = try await owner.query(
                        "select count(*)::int from pg_stat_activity where datname = current_database() and usename = 'huifang_app' and state = 'active'"
                    ).single().decode(0)
                    #expect(active == 0)
                    try await locker.run(script: "commit")
                    _ = await waiting.value
                }
            }
        }
    }
}
