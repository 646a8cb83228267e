import Foundation

/// Where a benchmark's server is: a `huifang serve` child started on `ownerURL`, or one already
/// running at `url`.
public enum BenchServer: Sendable {
    case child(ownerURL: String)
    case running(url: URL, pid: Int32?)

    /// Runs `body` with the server's address and process id (nil: not known), starting and stopping
    /// the child around it; `name` labels the child's log file.
    func with<T: Sendable>(
        name: String, poolSize: Int, _ body: (_ url: URL, _ pid: Int32?) async throws -> T
    ) async throws -> T {
        switch self {
        case .running(let url, let pid):
            return try await body(url, pid)
        case .child(let ownerURL):
            let port = try freeLocalPort()
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("huifang-bench-\(name)-\(getpid()).log")
            // No timer workers: the clocks the demo leaves due would fire during the measurements. No
            // delivery workers: their polls run as the request role and were captured with a request's
            // statements now and then (a submit of 18 statements, a claim of 20, whose replay failed).
            let child = try ServerChild(
                port: port, databaseURL: ownerURL, poolSize: poolSize, log: log,
                arguments: ["--timer-workers", "0", "--delivery-workers", "0"])
            do {
                let url = URL(string: "http://127.0.0.1:\(port)")!
                let setup = BenchHTTPClient(base: url, connections: 4)
                defer { setup.invalidate() }
                try await child.waitUntilListening(setup)
                let result = try await body(url, child.pid)
                await child.stop()
                return result
            } catch {
                await child.stop()
                throw error
            }
        }
    }
}
