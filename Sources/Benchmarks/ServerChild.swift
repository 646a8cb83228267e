import Foundation

/// A `huifang serve` of this very binary, run as a child process so a benchmark can send it SIGTERM
/// and stay alive; its output goes to a log file.
final class ServerChild: @unchecked Sendable {
    let port: Int
    let log: URL
    private let process = Process()

    /// Starts `huifang serve --no-migrate` on `port` against `databaseURL` (the owner; requests connect
    /// as `huifang_app` on the same server), with `arguments` after its own and `extra` in its environment.
    init(port: Int, databaseURL: String, poolSize: Int, log: URL, arguments: [String] = [], environment extra: [String: String] = [:]) throws {
        self.port = port
        self.log = log
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["serve", "--no-migrate", "--port", String(port), "--pool-size", String(poolSize)] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment["HUIFANG_APP_DATABASE_URL"] = nil
        environment["HUIFANG_APP_PASSWORD"] = nil
        environment["HUIFANG_READ_DATABASE_URL"] = nil
        environment.merge(extra) { $1 }
        process.environment = environment
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        output.seekToEndOfFile()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The path of the running executable, resolved against the working directory.
    static var executable: String {
        let path = CommandLine.arguments[0]
        if path.contains("/") { return URL(fileURLWithPath: path).standardizedFileURL.path }
        return Bundle.main.executablePath ?? path
    }


    /// Polls `/health` until it answers (any status) or `limit` passes.
    func waitUntilListening(_ client: BenchHTTPClient, limit: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw BenchmarkError("huifang serve exited early; see \(log.path):\n\(logTail())") }
            if await client.send("GET", "/health", timeout: .seconds(2)).status != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchmarkError("huifang serve did not listen on port \(port) within \(limit); see \(log.path):\n\(logTail())")
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the child to exit; returns its status, or nil when it still runs after `limit`.
    func waitForExit(limit: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// Ends the child however it is doing: SIGTERM, then SIGKILL after 35 s.
    func stop() async {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if await waitForExit(limit: .seconds(35)) == nil {
            signal(SIGKILL)
            _ = await waitForExit(limit: .seconds(5))
        }
    }

    func logTail(lines: Int = 15) -> String {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
