import Foundation
import Logging
import Postgres

/// The database's bad days as a client sees them: concurrent writers with idempotency keys against a
/// `huifang serve` child while its private PostgreSQL is killed, restarted, has its backends
/// terminated and a table locked, and the server is sent SIGTERM; then the database is checked.
/// Then 10,000 concurrent requests against a pool of 8.
public struct OutageBenchmark: Sendable {
    var writers: Int
    var lockSeconds: Int
    var steadySeconds: Int
    var overloadRequests: Int
    var overloadPoolSize: Int

    /// A request's deadline: the server's statement timeout (`huifang serve` default).
    static let deadline = SessionTimeouts.api.statement!
    static let recoveryGoal = Duration.seconds(2)

    public init(writers: Int, lockSeconds: Int, steadySeconds: Int, overloadRequests: Int, overloadPoolSize: Int) {
        self.writers = writers
        self.lockSeconds = lockSeconds
        self.steadySeconds = steadySeconds
        self.overloadRequests = overloadRequests
        self.overloadPoolSize = overloadPoolSize
    }

    /// Runs the timeline and the overload phase, prints the figures; false when a goal is missed.
    public func run(logger: Logger) async throws -> Bool {
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
        return report.passed
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on now.
func freeLocalPort() throws -> Int {
    let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw BenchmarkError("socket(): errno \(errno)") }
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
    guard bound else { throw BenchmarkError("cannot bind a free port: errno \(errno)") }
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
        throw BenchmarkError("sign-in as \(employeeNo) failed: \(got) \(String(decoding: answer.body, as: UTF8.self))")
    }
    return session.token
}
