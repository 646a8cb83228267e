import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
import Server
import Store
import Testing
import TestSupport

@Suite("Health, metrics, the API description and problem+json errors")
struct OperationsTests {
    /// Mid-2026: the next 60 days lie in an official calendar year.
    static let midsummer = Date(timeIntervalSince1970: 1_782_864_000)  // 2026-07-01 00:00 UTC

    func configuration(_ database: TestDatabase, extraMigration: Bool = false, now: Date = midsummer) throws -> AppConfiguration {
        var migrations = try Migration.load(from: try MigrationsDirectory.locate())
        if extraMigration {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("future-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try "select 1;".write(to: directory.appendingPathComponent("9999_future.sql"), atomically: true, encoding: .utf8)
            migrations += try Migration.load(from: directory)
        }
        var configuration = AppConfiguration(database: database.application, poolSize: 2, migrations: migrations, logLevel: .warning)
        configuration.definitions = try Definition.load(fromMigrations: try MigrationsDirectory.locate())
        configuration.now = { now }
        configuration.allowForALoadedMachine()
        return configuration
    }

    @Test func healthIsOkOnAMigratedDatabase() async throws {
        try await TestDatabase.with { database in
            let app = try await buildApplication(try configuration(database))
            try await app.test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try JSONDecoder().decode(HealthBody.self, from: Data(String(buffer: response.body).utf8))
                    #expect(body.status == "ok")
                    #expect(body.checks.map(\.name) == ["database", "migrations", "definitions", "calendar", "delivery"])
                }
            }
        }
    }

    @Test func healthWarnsWhenTheNextSixtyDaysReachAProvisionalYear() async throws {
        try await TestDatabase.with { database in
            // 25 Nov 2026: 60 days ahead is January 2027, whose schedule is not announced.
            let november = Date(timeIntervalSince1970: 1_795_564_800)  // 2026-11-25 00:00 UTC
            let app = try await buildApplication(try configuration(database, now: november))
            try await app.test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try JSONDecoder().decode(HealthBody.self, from: Data(String(buffer: response.body).utf8))
                    #expect(body.status == "warn")
                    let calendar = try #require(body.checks.first { $0.name == "calendar" })
                    #expect(calendar.ok)
                    #expect(calendar.warning == true)
                    #expect(calendar.detail?.contains("cn_workday 2027") == true)
                }
            }
        }
    }

    @Test func healthIs503WhileAMigrationIsPending() async throws {
        try await TestDatabase.with { database in
            let app = try await buildApplication(try configuration(database, extraMigration: true))
            try await app.test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try JSONDecoder().decode(HealthBody.self, from: Data(String(buffer: response.body).utf8))
                    #expect(body.status == "unavailable")
                    let migrations = try #require(body.checks.first { $0.name == "migrations" })
                    #expect(migrations.ok == false)
                    #expect(migrations.detail?.contains("9999_future") == true)
                }
            }
        }
    }

    @Test func healthIs503WhileTheDatabaseHasAnotherBuildsDefinitions() async throws {
        try await TestDatabase.with { database in
            var configuration = try configuration(database)
            // This build's timers file differs from what the database has (another build migrated it).
            let index = try #require(configuration.definitions.firstIndex { $0.name.hasSuffix("_timers.sql") })
            configuration.definitions[index].checksum = String(repeating: "0", count: 64)
            let stale = configuration.definitions[index].name
            let app = try await buildApplication(configuration)
            try await app.test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try JSONDecoder().decode(HealthBody.self, from: Data(String(buffer: response.body).utf8))
                    let definitions = try #require(body.checks.first { $0.name == "definitions" })
                    #expect(definitions.ok == false)
                    #expect(definitions.detail?.contains(stale) == true)
                    #expect(definitions.detail?.contains("huifang migrate") == true)
                }
            }
        }
    }

    @Test func healthIs503WhenTheDatabaseIsUnreachable() async throws {
        try await TestDatabase.with { database in
            var configuration = try configuration(database)
            configuration.database = database.cluster.configuration(database: "no_such_database", user: "huifang_app")
            let app = try await buildApplication(configuration)
            try await app.test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try JSONDecoder().decode(HealthBody.self, from: Data(String(buffer: response.body).utf8))
                    #expect(body.checks.first { $0.name == "database" }?.ok == false)
                }
            }
        }
    }

    @Test func unauthenticatedRequestsAreProblemDocumentsWithTheRequestID() async throws {
        try await TestDatabase.with { database in
            let app = try await buildApplication(try configuration(database))
            try await app.test(.router) { client in
                // Everything but the public operations needs a session, unknown paths included.
                try await client.execute(uri: "/no/such/thing", method: .get) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let problem = try JSONDecoder().decode(Problem.self, from: Data(String(buffer: response.body).utf8))
                    #expect(problem.status == 401)
                    #expect(problem.type.hasSuffix("/unauthenticated"))
                    #expect(problem.requestId != nil)
                    #expect(problem.requestId == response.headers[HTTPField.Name("X-Request-ID")!])
                }
            }
        }
    }

    @Test func metricsExposeRequestsAndThePool() async throws {
        try await TestDatabase.with { database in
            let app = try await buildApplication(try configuration(database))
            try await app.test(.router) { client in
                _ = try await client.execute(uri: "/health", method: .get)
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .ok)
                    let text = String(buffer: response.body)
                    #expect(text.contains("huifang_db_pool_connections{state=\"in_use\"}"))
                    #expect(text.contains("huifang_db_pool_size 2"))
                    #expect(text.contains("hb_requests{"))
                    #expect(text.contains("http_route=\"/health\""))
                }
            }
        }
    }

    @Test func theAPIDescriptionIsServed() async throws {
        try await TestDatabase.with { database in
            let app = try await buildApplication(try configuration(database))
            try await app.test(.router) { client in
                try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                    #expect(response.status == .ok)
                    let text = String(buffer: response.body)
                    #expect(text.hasPrefix("openapi: 3.1.0"))
                    #expect(text.contains("operationId: getHealth"))
                }
            }
        }
    }
}

struct HealthBody: Decodable {
    struct Check: Decodable {
        var name: String
        var ok: Bool
        var detail: String?
        var warning: Bool?
    }
    var status: String
    var checks: [Check]
}
