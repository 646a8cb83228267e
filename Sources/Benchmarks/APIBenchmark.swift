import Foundation
import Logging
import NIOCore
import NIOPosix
import Postgres

/// The request path against its own SQL: each request of the issue-23 list over HTTP (N keep-alive
/// connections, a fixed time), and pgbench `-M prepared` running the statements that request sent
/// — captured from PostgreSQL's log while one request of the kind was sent, so the comparison
/// follows the code — with as many clients as the server's pool has connections.
public struct APIBenchmark: Sendable {
    var connections: Int
    var seconds: Int
    var branches: Int
    var poolSize: Int
    var scriptsDirectory: URL?

    public init(connections: Int, seconds: Int, branches: Int, poolSize: Int, scriptsDirectory: String? = nil) {
        self.scriptsDirectory = scriptsDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) }
        self.connections = connections
        self.seconds = seconds
        self.branches = branches
        self.poolSize = poolSize
    }

    /// Runs every phase against `server` on the database `owner` and `application` reach, prints
    /// the table; false when most requests of a phase failed.
    public func run(
        server: BenchServer, owner ownerConfiguration: ConnectionConfiguration, application: ConnectionConfiguration, logger: Logger
    ) async throws -> Bool {
        try await Pool.withPool(ownerConfiguration, size: 2, logger: logger) { owner in
            let cast = try await APICast.find(owner, branches: branches)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            do {
                let passed = try await server.with(name: "api", poolSize: poolSize) { url, pid in
                    try await run(url: url, pid: pid, owner: owner, application: application, cast: cast, group: group)
                }
                try await group.shutdownGracefully()
                return passed
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
        }
    }

    private func run(
        url: URL, pid: Int32?, owner: Pool, application: ConnectionConfiguration, cast: APICast, group: any EventLoopGroup
    ) async throws -> Bool {
        let setup = BenchHTTPClient(base: url, connections: 4)
        defer { setup.invalidate() }
        let tokens = try await APITokens.signIn(setup, cast)
        let session = APISession(
            load: LoadRun(host: url.host ?? "127.0.0.1", port: url.port ?? 80, connections: connections, group: group, serverPID: pid),
            capture: StatementCapture(owner: owner, applicationUser: try await Self.user(of: application)),
            preparation: APIPreparation(owner: owner, cast: cast),
            cast: cast, tokens: tokens, seconds: seconds, poolSize: poolSize, application: application,
            scriptsDirectory: scriptsDirectory)
        if let scriptsDirectory { try FileManager.default.createDirectory(at: scriptsDirectory, withIntermediateDirectories: true) }
        print("bench api: \(connections) HTTP connections, \(seconds) s per phase; pgbench -M prepared with \(poolSize) clients "
              + "(the server's pool); writers on \(branches) branch(es): \(cast.branches.map(\.code).joined(separator: ", "))")
        print("load generator: SwiftNIO HTTP/1.1 keep-alive client in this process on 1 event-loop thread (its CPU is shown)")
        if pid == nil { print("server CPU: not measured (give --server-pid with --url)") }
        fflush(nil)
        var rows = try await session.reads()
        rows += try await session.writes()
        let scaling = branches > 1 ? try await session.scaling(branches: branches) : nil
        let report = APIReport(rows: rows, scaling: scaling, connections: connections, poolSize: poolSize)
        report.print()
        return report.passed
    }

    /// The user a conninfo connects as (the request role), for telling its statements apart in the log.
    static func user(of configuration: ConnectionConfiguration) async throws -> String {
        try await Pool.withPool(configuration) { try await $0.query("select current_user::text").single().decode(0, as: String.self) }
    }
}
