import Logging
import Postgres
@testable import Server
import ServiceLifecycle
import Testing
import TestSupport

/// On SIGTERM a `ServiceGroup` stops its services last to first, each after the one behind it has
/// finished. The application's and `huifang worker`'s lists put the pools first, so they close only
/// after the workers and the scheduler have finished what they were doing.
@Suite("Shutdown closes the pools last")
struct ShutdownOrderTests {
    @Test func serviceGroupStopsServicesInReverseSoThePoolClosesLast() async throws {
        try await TestDatabase.with(migrated: false) { database in
            for poolFirst in [true, false] {
                let pool = Pool(configuration: database.owner, size: 1, logger: TestCluster.quietLogger)
                let probe = FinishesWithAQuery(pool: pool, value: 1)
                let services: [any Service] = poolFirst ? [PoolService(pools: [pool]), probe] : [probe, PoolService(pools: [pool])]
                let group = ServiceGroup(configuration: .init(services: services, logger: TestCluster.quietLogger))
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    await probe.started.wait()
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
                // The first service of the list stops last: only then does the user's last query work.
                let outcome = await probe.outcome.value
                if poolFirst {
                    #expect(outcome == "1")
                } else {
                    #expect(outcome == "\(PoolError.shutDown)")
                }
                await pool.shutdown()
            }
        }
    }

    @Test func aWorkerFinishingItsBatchOnShutdownStillHasItsPool() async throws {
        try await TestDatabase.with(migrated: false) { database in
            let pool = Pool(configuration: database.owner, size: 1, logger: TestCluster.quietLogger)
            let worker = FinishesWithAQuery(pool: pool)
            let group = ServiceGroup(
                configuration: .init(services: PoolService.stoppingLast([pool], after: [worker]), logger: TestCluster.quietLogger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                await worker.started.wait()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(await worker.outcome.value == "7")
            // And once the group has stopped, the pool is closed: work fails, it does not hang.
            await #expect(throws: PoolError.shutDown) { try await pool.query("select 1") }
        }
    }

    @Test func theWorkerCommandStopsItsServicesBeforeItsPool() async throws {
        let database = ConnectionConfiguration(conninfo: "host=/nonexistent dbname=x")
        let services = try standaloneWorkerServices(database: database, configuration: .init(workers: 1), logger: TestCluster.quietLogger)
        let pools = try #require(services.first as? PoolService)
        #expect(services.count == 3)
        for pool in pools.pools { await pool.shutdown() }
    }
}

/// Asked to stop, finishes its work with one last query — as a timer worker finishing its batch.
private struct FinishesWithAQuery: Service {
    let pool: Pool
    var value = 7
    let started = Latch()
    let outcome = Outcome()

    func run() async throws {
        await started.open()
        try? await gracefulShutdown()
        do {
            await outcome.set("\(try await pool.query("select \(value)::int").single().decode(0, as: Int.self))")
        } catch {
            await outcome.set("\(error)")
        }
    }
}

