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

/// A test client that signs in and sends JSON, over HummingbirdTesting's router transport.
struct APIClient {
    let client: any TestClientProtocol

    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var text: String
        func json() throws -> [String: Any] {
            (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        }
        /// A body that is a JSON array of objects.
        func jsonArray() throws -> [[String: Any]] {
            (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
        }
        func problem() throws -> Problem {
            try JSONDecoder().decode(Problem.self, from: Data(text.utf8))
        }
        /// The problem's field errors as `field: reason`.
        func fieldErrors() throws -> [String] {
            try problem().errors?.map { "\($0.field): \($0.reason)" } ?? []
        }
    }

    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: Any? = nil, accept: String? = nil,
        ifMatch: String? = nil, rawBody: String? = nil, idempotencyKey: String? = nil, headers extra: [String: String] = [:]
    ) async throws -> Reply {
        var headers: HTTPFields = [:]
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        if let idempotencyKey { headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        if let accept { headers[.accept] = accept }
        if let ifMatch { headers[.ifMatch] = ifMatch }
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            // Sorted keys: the same value is the same bytes, as a client repeating a request sends them.
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
        }
        if let rawBody {
            headers[.contentType] = "application/json"
            body = ByteBuffer(string: rawBody)
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        return Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }

    func signIn(_ employeeNo: String, password: String = OrganizationFixture.password) async throws -> Reply {
        try await send(.post, "/sessions", json: ["employeeNo": employeeNo, "password": password])
    }

    /// Signs in and returns the bearer token, failing the test when sign-in does not succeed.
    func token(_ employeeNo: String) async throws -> String {
        let reply = try await signIn(employeeNo)
        guard reply.status == .created, let token = try reply.json()["token"] as? String else {
            throw TestFailure("sign-in of \(employeeNo) failed: \(reply.status) \(reply.text)")
        }
        return token
    }

    /// Every item id of `path` (ending in `?` or `&`), `size` at a time, following `next`.
    func pagedIDs(_ token: String, _ path: String, size: Int) async throws -> [Int] {
        var ids: [Int] = [], after: String?
        repeat {
            let page = try await send(.get, path + "limit=\(size)" + (after.map { "&after=\($0)" } ?? ""), token: token)
            #expect(page.status == .ok, "\(path): \(page.text)")
            let body = try page.json()
            guard let items = body["items"] as? [[String: Any]] else {
                Issue.record("no items: \(page.text)")
                break
            }
            ids += items.compactMap { $0["id"] as? Int }
            after = body["next"] as? String
        } while after != nil && ids.count < 5_000
        return ids
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A migrated database with `OrganizationFixture` loaded, and the application on it.
func withFixtureApp(
    now: Date = Date(timeIntervalSince1970: 1_782_864_000),  // 2026-07-01
    configure: @Sendable (inout AppConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (APIClient, OrganizationFixture, TestDatabase) async throws -> Void
) async throws {
    try await TestDatabase.with { database in
        let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
        let app = try await buildApplication(try fixtureConfiguration(database, now: now, configure: configure))
        try await app.test(.router) { client in
            try await body(APIClient(client: client), fixture, database)
        }
    }
}

/// Two applications on one database with `OrganizationFixture` loaded, as two `huifang serve` behind
/// a load balancer; `configure` is called once per server, with its number (0, 1).
func withTwoFixtureApps(
    now: Date = Date(timeIntervalSince1970: 1_782_864_000),  // 2026-07-01
    configure: @Sendable (Int, inout AppConfiguration) -> Void = { _, _ in },
    _ body: @escaping @Sendable (APIClient, APIClient, OrganizationFixture, TestDatabase) async throws -> Void
) async throws {
    try await TestDatabase.with { database in
        let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
        let first = try await buildApplication(try fixtureConfiguration(database, now: now) { configure(0, &$0) })
        let second = try await buildApplication(try fixtureConfiguration(database, now: now) { configure(1, &$0) })
        try await first.test(.router) { one in
            try await second.test(.router) { two in
                try await body(APIClient(client: one), APIClient(client: two), fixture, database)
            }
        }
    }
}

/// The configuration of a test server on `database`: small pools, cheap bcrypt, the clock at `now`.
func fixtureConfiguration(
    _ database: TestDatabase, now: Date, configure: (inout AppConfiguration) -> Void = { _ in }
) throws -> AppConfiguration {
    var configuration = AppConfiguration(
        database: database.application, poolSize: 2, migrations: try Migration.load(from: try MigrationsDirectory.locate()),
        logLevel: .warning)
    configuration.now = { now }
    configuration.bcryptCost = 4
    configuration.allowForALoadedMachine()
    configure(&configuration)
    return configuration
}

extension AppConfiguration {
    /// Deadlines no test means to reach. The server's own (a 5 s statement, a 2 s lock wait, a 5 s
    /// wait for a connection) are timing thresholds for a test: a full parallel run on two cores
    /// once took a 0.3 s statement past 5 s. The tests of those deadlines set their own.
    mutating func allowForALoadedMachine() {
        requestTimeouts = SessionTimeouts(statement: .seconds(120), lock: .seconds(60), idleInTransaction: .seconds(120))
        acquireTimeout = .seconds(120)
    }
}
