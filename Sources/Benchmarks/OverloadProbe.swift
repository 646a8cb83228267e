import DemoData
import Foundation
import Store

/// What many concurrent requests against a small pool got.
struct OverloadResult: Sendable {
    var answers: [HTTPAnswer]
    var poolSize: Int
    /// How many connections the kernel dropped meanwhile because a listen queue was full (Linux; any process).
    var listenOverflows: Int?
    /// The server's own durations of the served and the shed requests (from `/metrics`).
    var servedOnServer: ServerDurationHistogram
    var shedOnServer: ServerDurationHistogram
}

/// `requests` concurrent `GET /problems?limit=50` against a fresh `huifang serve --pool-size poolSize`.
struct OverloadProbe: Sendable {
    var url: String
    var requests: Int
    var poolSize: Int
    var log: URL

    func run(employeeNo: String) async throws -> OverloadResult {
        let port = try freeLocalPort()
        let server = try ServerChild(port: port, databaseURL: url, poolSize: poolSize, log: log)
        let client = BenchHTTPClient(port: port, connections: requests)
        defer { client.invalidate() }
        do {
            try await server.waitUntilListening(client)
            let token = try await signIn(client, employeeNo: employeeNo, password: DemoData.password)
            print("sending \(requests) concurrent requests to a pool of \(poolSize) …")
            fflush(nil)
            let overflowsBefore = Self.listenOverflows()
            let answers = await withTaskGroup(of: HTTPAnswer.self) { group in
                for _ in 0..<requests {
                    group.addTask { await client.send("GET", "/problems?limit=50", token: token, timeout: .seconds(60)) }
                }
                return await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
            }
            let overflowsAfter = Self.listenOverflows()
            let metrics = String(decoding: await client.send("GET", "/metrics", timeout: .seconds(30)).body, as: UTF8.self)
            await server.stop()
            let overflows = overflowsBefore.flatMap { before in overflowsAfter.map { $0 - before } }
            return OverloadResult(
                answers: answers, poolSize: poolSize, listenOverflows: overflows,
                servedOnServer: ServerDurationHistogram(metrics: metrics, route: "/problems", method: "GET", status: 200),
                shedOnServer: ServerDurationHistogram(metrics: metrics, route: "/problems", method: "GET", status: 503))
        } catch {
            await server.stop()
            throw error
        }
    }

    /// `TcpExtListenOverflows` from `/proc/net/netstat`: a header line of names and a line of values.
    static func listenOverflows() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/net/netstat", encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("TcpExt:") }
        guard lines.count == 2 else { return nil }
        let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        guard let index = names.firstIndex(of: "ListenOverflows"), index < values.count else { return nil }
        return Int(values[index])
    }
}
