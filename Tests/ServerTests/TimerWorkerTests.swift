import Foundation
import Logging
import Postgres
import Server
import ServiceLifecycle
import Store
import Testing
import TestSupport

@Suite("The timer worker service")
struct TimerWorkerTests {
    /// With polling set to an hour, only NOTIFY can wake the sleeping workers for a new due timer.
    @Test func aNewlyDueTimerWakesSleepingWorkers() async throws {
        try await TestDatabase.with { database in
            let branch: Int = try await database.withPool {
                try await $0.query("insert into huifang.branches (code, name, region) values ('BJ001', '北京', '华北') returning id")
                    .single().decode(0)
            }
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let services = try standaloneWorkerServices(
                database: database.application, configuration: .init(workers: 2, batchSize: 10, pollInterval: .seconds(3600)),
                logger: logger)
            let group = ServiceGroup(configuration: .init(services: services, logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Let the workers go to sleep on an empty table, then start a clock that is already overdue.
                try await Task.sleep(for: .milliseconds(500))
                try await database.withPool { pool in
                    try await pool.transaction { db in
                        try await Timers(db).start(
                            TimerSubject(branchId: branch, kind: "task", id: 1, clock: "new_account_callback"),
                            startedAt: Date(timeIntervalSince1970: 1_772_416_800), workdays: 5, title: "Task 1", notify: [])
                    }
                    var events = 0
                    for _ in 0..<300 where events < 4 {
                        try await Task.sleep(for: .milliseconds(100))
                        // The scheduler beside the workers opens last month's (long overdue) upload clock too; count this one.
                        events = try await pool.query("select count(*) from huifang.sla_events where subject_kind = 'task'").single().decode(0)
                    }
                    #expect(events == 4)
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }
}
