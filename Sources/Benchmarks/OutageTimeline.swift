import DemoData
import Foundation
import Store

/// What the writers saw through the faults, and when each fault happened.
struct OutageResult: Sendable {
    var entries: [OutageLedger.Entry]
    var acknowledged: [String]
    var saidCommitted: [String]
    var faults: FaultTimes
}

/// When each fault of the timeline happened, and what it did.
struct FaultTimes: Sendable {
    var restarted: ContinuousClock.Instant
    var lockHeld: Range<ContinuousClock.Instant>
    var terminated: ContinuousClock.Instant
    var serverExit: Int32?
    var terminatedBackends: Int
}

/// The fault timeline of `huifang bench outage`: steady writing, SIGKILL to the postmaster, a restart,
/// terminated backends, a held ACCESS EXCLUSIVE lock, and SIGTERM to the server, with steady writing
/// between them.
struct OutageTimeline: Sendable {
    var database: OutageCluster
    var writers: Int
    var steady: Duration
    var lock: Duration
    var timeout: Duration
    var log: URL

    static let phases = [
        "steady", "postmaster killed", "restarted", "backends terminated", "lock held", "lock released", "SIGTERM",
    ]

    func run(employeeNo: String, clientIds: [Int64]) async throws -> OutageResult {
        let port = try freeLocalPort()
        let server = try ServerChild(port: port, databaseURL: database.url, poolSize: 8, log: log)
        let client = BenchHTTPClient(port: port, connections: writers * 2)
        do {
            try await server.waitUntilListening(client)
            let token = try await signIn(client, employeeNo: employeeNo, password: DemoData.password)
            let expected = Int(lock.components.seconds) + 3 * Int(steady.components.seconds) + 6
            print("writing with \(writers) clients while faults are staged (about \(expected) s) …")
            fflush(nil)
            let ledger = OutageLedger()
            let writing = Task {
                await withTaskGroup(of: Void.self) { group in
                    for number in 1...writers {
                        group.addTask {
                            await OutageWriter(
                                number: number, client: client, token: token, clientIds: clientIds, ledger: ledger, timeout: timeout
                            ).run()
                        }
                    }
                }
            }
            let faults: FaultTimes
            do {
                faults = try await stageFaults(server: server, ledger: ledger)
            } catch {
                ledger.stop()
                await writing.value
                throw error
            }
            await writing.value
            client.invalidate()
            let seen = ledger.snapshot
            return OutageResult(entries: seen.entries, acknowledged: seen.acknowledged, saidCommitted: seen.saidCommitted, faults: faults)
        } catch {
            await server.stop()
            client.invalidate()
            throw error
        }
    }

    private func stageFaults(server: ServerChild, ledger: OutageLedger) async throws -> FaultTimes {
        try await Task.sleep(for: steady)

        ledger.phase = "postmaster killed"
        try database.killPostmaster()
        try await Task.sleep(for: .seconds(3))
        try await database.restart()
        let restarted = ContinuousClock.now
        ledger.phase = "restarted"
        try await Task.sleep(for: steady)

        ledger.phase = "backends terminated"
        let terminatedBackends = try await database.terminateApplicationBackends()
        try await Task.sleep(for: steady)

        let lockHeld = try await database.holdProblemsLock(for: lock) { ledger.phase = "lock held" }
        ledger.phase = "lock released"
        try await Task.sleep(for: .seconds(3))

        ledger.phase = "SIGTERM"
        let terminated = ContinuousClock.now
        server.signal(SIGTERM)
        let exit = await server.waitForExit(limit: .seconds(35))
        ledger.stop()
        if exit == nil { await server.stop() }
        return FaultTimes(
            restarted: restarted, lockHeld: lockHeld, terminated: terminated, serverExit: exit, terminatedBackends: terminatedBackends)
    }
}
