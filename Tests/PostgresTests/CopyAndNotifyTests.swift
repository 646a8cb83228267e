import Postgres
import Testing
import TestSupport

@Suite("COPY loads in bulk; LISTEN/NOTIFY delivers")
struct CopyAndNotifyTests {
    @Test func copyLoadsEveryRowWithAwkwardCharacters() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                try await pool.query("create table t (id int, note text)")
                let copied = try await pool.withConnection { connection in
                    try await connection.copyIn("copy t (id, note) from stdin") { writer in
                        for id in 0..<10_000 {
                            try writer.write(row: [String(id), id == 7 ? nil : "行\(id)\ttab\nnewline\\slash"])
                        }
                    }
                }
                #expect(copied == 10_000)
                let row = try await pool.query("select count(*), count(note), max(note) filter (where id = 3) from t").single()
                #expect(try row.decode(0, as: Int.self) == 10_000)
                #expect(try row.decode(1, as: Int.self) == 9_999)
                #expect(try row.decode(2, as: String.self) == "行3\ttab\nnewline\\slash")
            }
        }
    }

    @Test func aCopyAbortedByTheProducerKeepsNothing() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                try await pool.query("create table t (id int)")
                struct BadInput: Error {}
                await #expect(throws: BadInput.self) {
                    try await pool.withConnection { connection in
                        try await connection.copyIn("copy t (id) from stdin") { writer in
                            try writer.write(row: ["1"])
                            throw BadInput()
                        }
                    }
                }
                #expect(try await pool.query("select count(*) from t").single().decode(0, as: Int.self) == 0)
            }
        }
    }

    @Test func listenersReceiveNotifications() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                let events = NotificationListener.listen(database.owner, channels: ["timers_due"], pollInterval: .milliseconds(50))
                var iterator = events.makeAsyncIterator()
                // LISTEN is set up on another thread: notify until the first one arrives.
                let sender = Task {
                    for attempt in 0..<100 {
                        try await pool.notify(channel: "timers_due", payload: "batch-\(attempt)")
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                let event = await iterator.next()
                sender.cancel()
                guard case .notification(let notification) = event else {
                    Issue.record("expected a notification, got \(String(describing: event))")
                    return
                }
                #expect(notification.channel == "timers_due")
                #expect(notification.payload.hasPrefix("batch-"))
            }
        }
    }
}
