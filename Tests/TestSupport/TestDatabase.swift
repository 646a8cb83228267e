import Foundation
import Postgres

/// A database of its own for one test, cloned from the migrated template and dropped afterwards.
public struct TestDatabase: Sendable {
    public let name: String
    public let cluster: EmbeddedCluster

    /// As the owner (the role that ran the migrations; a superuser here).
    public var owner: ConnectionConfiguration { cluster.configuration(database: name) }
    /// As the request role `huifang_app`, subject to row-level security.
    public var application: ConnectionConfiguration { cluster.configuration(database: name, user: "huifang_app") }

    /// Creates a fresh database (migrated, or empty with `migrated: false`), runs `body`, drops it;
    /// all of it in one of the process's `TestSlots`.
    @discardableResult
    public static func with<T: Sendable>(
        migrated: Bool = true, _ body: (TestDatabase) async throws -> T
    ) async throws -> T {
        try await TestSlots.hold { try await withoutSlot(migrated: migrated, body) }
    }

    private static func withoutSlot<T: Sendable>(
        migrated: Bool, _ body: (TestDatabase) async throws -> T
    ) async throws -> T {
        let cluster = try await TestCluster.shared.cluster()
        let name = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let template = migrated ? TestCluster.templateDatabase : "template0"
        let admin = Pool(configuration: cluster.configuration(), size: 1, logger: TestCluster.quietLogger)
        try await admin.withConnection { try await $0.run(script: "CREATE DATABASE \(name) TEMPLATE \(template)") }
        let database = TestDatabase(name: name, cluster: cluster)
        do {
            let result = try await body(database)
            try await admin.withConnection { try await $0.run(script: "DROP DATABASE \(name) WITH (FORCE)") }
            await admin.shutdown()
            return result
        } catch {
            try? await admin.withConnection { try await $0.run(script: "DROP DATABASE \(name) WITH (FORCE)") }
            await admin.shutdown()
            throw error
        }
    }

    /// A pool on this database; shut down when `body` ends.
    @discardableResult
    public func withPool<T: Sendable>(
        _ configuration: ConnectionConfiguration? = nil, size: Int = 4, acquireTimeout: Duration = .seconds(10),
        maxWaiters: Int? = nil, _ body: (Pool) async throws -> T
    ) async throws -> T {
        try await Pool.withPool(
            configuration ?? owner, size: size, acquireTimeout: acquireTimeout, maxWaiters: maxWaiters,
            logger: TestCluster.quietLogger, body)
    }
}
