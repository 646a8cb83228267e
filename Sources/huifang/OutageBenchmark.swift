import ArgumentParser
import Foundation
import Logging
import Postgres

/// The database's bad days as a client sees them: concurrent writers with idempotency keys against a
/// `huifang serve` child while its private PostgreSQL is killed, restarted, has its backends
/// terminated and a table locked, and the server is sent SIGTERM; then the database is checked.
/// Then 10,000 concurrent requests against a pool of 8. Exits 1 when a goal is missed.
struct OutageBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outage",
        abstract: "Write through a killed, restarted and locked private PostgreSQL and a SIGTERM, then flood a pool of 8; check every goal.",
        discussion: """
            Starts its own throwaway PostgreSQL and `huifang serve` children on free ports; nothing configured is touched. \
            Goals: no acknowledged write lost, none duplicated, every request answered within its deadline \
            (the 5 s statement timeout) + 1 s, the first success ≤ 2 s after PostgreSQL accepts connections again, \
            no 5xx but 503 and outcome-unknown.
            """)

    @Option(help: "Concurrent writers.") var writers = 8
    @Option(help: "Seconds the ACCESS EXCLUSIVE lock on the problems is held.") var lockSeconds = 30
    @Option(help: "Seconds of steady writing between faults.") var steadySeconds = 5
    @Option(help: "Concurrent requests of the overload phase.") var overloadRequests = 10_000
    @Option(help: "Connections in the request pool of the overload phase.") var overloadPoolSize = 8

    /// A request's deadline: the server's statement timeout (`huifang serve` default).
    static let deadline = SessionTimeouts.api.statement!
    static let recoveryGoal = Duration.seconds(2)

    func validate() throws {
        guard writers > 0, lockSeconds > 0, steadySeconds > 0, overloadRequests > 0, overloadPoolSize > 0 else {
            throw ValidationError("every count and duration must be positive")
        }
    }

    func run() async throws {
        var logger = Logger(label: "huifang.outage")
        logger.logLevel = .error
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("huifang-outage-\(getpid())")
        let cluster = try EmbeddedCluster(
            dataDirectory: directory.appendingPathComponent("pgdata"), settings: ["fsync": "off", "max_connections": "200"], logger: logger)
        try cluster.start()
        defer {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(at: directory)
        }
        let database = OutageCluster(cluster: cluster, logger: logger)
        print("preparing a private PostgreSQL with a demo organization (2 branches, 200 clients) …")
        fflush(nil)
        try await database.prepare(seed: 20_261_130)
        let writer = try await database.writer()

        let timeline = OutageTimeline(
            database: database, writers: writers, steady: .seconds(steadySeconds), lock: .seconds(lockSeconds),
            timeout: Self.deadline + .seconds(2), log: directory.appendingPathComponent("serve-outage.log"))
        let outage = try await timeline.run(employeeNo: writer.employeeNo, clientIds: writer.clientIds)
        let counts = try await database.markerCounts()
        let overload = try await OverloadProbe(
            url: database.url, requests: overloadRequests, poolSize: overloadPoolSize,
            log: directory.appendingPathComponent("serve-overload.log")
        ).run(employeeNo: writer.employeeNo)

        let report = OutageReport(outage: outage, markerCounts: counts, overload: overload)
        report.print()
        if !report.passed { throw ExitCode(1) }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on now.
func freeLocalPort() throws -> Int {
    let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw CLIError("socket(): errno \(errno)") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    guard bound else { throw CLIError("cannot bind a free port: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Signs in and returns the bearer token.
func signIn(_ client: BenchHTTPClient, employeeNo: String, password: String) async throws -> String {
    struct Credentials: Encodable { var employeeNo: String, password: String }
    struct Session: Decodable { var token: String }
    let answer = await client.send(
        "POST", "/sessions", json: try JSONEncoder().encode(Credentials(employeeNo: employeeNo, password: password)), timeout: .seconds(30))
    guard answer.status == 201, let session = try? JSONDecoder().decode(Session.self, from: answer.body) else {
        let got = answer.status.map(String.init) ?? answer.failure ?? "no answer"
        throw CLIError("sign-in as \(employeeNo) failed: \(got) \(String(decoding: answer.body, as: UTF8.self))")
    }
    return session.token
}
