import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
import Server
import ServiceLifecycle
import Store
import Testing
import TestSupport

/// SIGTERM as a deploy sends it, against the real server on a real port: the server stops accepting
/// at once, and the request it is running still gets its answer from the database.
@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test func aRunningRequestFinishesAndNewConnectionsAreRefused() async throws {
        try await withFixtureServerOnAPort { port, token, database, group in
            try await database.withPool(size: 2) { owner in
                try await owner.withConnection { locker in
                    try await locker.run(script: "begin; lock table huifang.clients in access exclusive mode")
                    let client = TestClient(host: "127.0.0.1", port: port)
                    client.connect()
                    let running = Task { try await client.get("/clients", headers: [.authorization: "Bearer \(token)"]) }
                    try await waitUntilWaiting(owner, forLockOn: "huifang.clients")

                    await group.triggerGracefulShutdown()
                    var refused = false
                    for _ in 0..<600 where !refused {
                        let probe = TestClient(host: "127.0.0.1", port: port)
                        probe.connect()
                        refused = (try? await probe.get("/health")) == nil
                        try? await probe.shutdown()
                        if !refused { try await Task.sleep(for: .milliseconds(50)) }
                    }
                    #expect(refused, "the server still accepted connections after SIGTERM")

                    try await locker.run(script: "commit")
                    let response = try await running.value
                    #expect(response.head.status == .ok)
                    try? await client.shutdown()
                }
            }
        }
    }
}

/// `OrganizationFixture` and the application on a real port, without request deadlines, for `body`
/// with the port, a token of `opsA`, the database and the service group (to stop it early).
func withFixtureServerOnAPort(
    _ body: (_ port: Int, _ token: String, _ database: TestDatabase, _ group: ServiceGroup) async throws -> Void
) async throws {
    try await TestDatabase.with { database in
        _ = try await database.withPool { try await OrganizationFixture.load(into: $0) }
        var configuration = AppConfiguration(
            port: 0, database: database.application, migrations: try Migration.load(from: try MigrationsDirectory.locate()),
            logLevel: .critical)
        configuration.bcryptCost = 4
        configuration.requestTimeouts = .unlimited
        let app = PortReporting(base: try await buildApplication(configuration))
        let group = ServiceGroup(configuration: .init(services: [app], logger: TestCluster.quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = await app.port.value
            try await body(port, try await signIn(port: port), database, group)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

/// Signs in as opsA over a real socket. The sign-in's bcrypt shares the machine with every suite of a
/// full run (two cores): it waited past the test client's default 15 s there, twice this session, and
/// a slow sign-in is not what these tests test.
func signIn(port: Int) async throws -> String {
    let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(90)))
    client.connect()
    defer { Task { try? await client.shutdown() } }
    let body = try JSONSerialization.data(withJSONObject: ["employeeNo": "opsA", "password": OrganizationFixture.password])
    let response = try await client.post("/sessions", headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body))
    let json = try JSONSerialization.jsonObject(with: Data((response.body ?? ByteBuffer()).readableBytesView)) as? [String: Any]
    return try #require(json?["token"] as? String)
}

/// The application on a port of the system's choosing, which it reports once it listens.
struct PortReporting<Base: ApplicationProtocol>: ApplicationProtocol, Service {
    typealias Responder = Base.Responder
    let base: Base
    let port = PortBox()

    var responder: Responder { get async throws { try await base.responder } }
    var server: HTTPServerBuilder { base.server }
    var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    var configuration: ApplicationConfiguration { base.configuration.with(address: .hostname("127.0.0.1", port: 0)) }
    var logger: Logger { base.logger }
    var services: [any Service] { base.services }
    var processesRunBeforeServerStart: [@Sendable () async throws -> Void] { base.processesRunBeforeServerStart }

    @Sendable func onServerRunning(_ channel: any Channel) async {
        await base.onServerRunning(channel)
        await port.set(channel.localAddress?.port ?? 0)
    }
}

actor PortBox {
    private var port: Int?
    private var waiting: [CheckedContinuation<Int, Never>] = []
    func set(_ port: Int) {
        self.port = port
        waiting.forEach { $0.resume(returning: port) }
        waiting.removeAll()
    }
    var value: Int {
        get async {
            if let port { return port }
            return await withCheckedContinuation { waiting.append($0) }
        }
    }
}
