import Foundation
import Logging

/// A private PostgreSQL server in a directory of our own, for development, demos and tests.
///
/// It listens on a unix socket inside its data directory only (no TCP unless `listensOnTCP`),
/// keeps its data across restarts, and is started and stopped with `pg_ctl`. PostgreSQL refuses to
/// run as root, so under root the server runs as the `postgres` OS user, who is given the directory.
public final class EmbeddedCluster: Sendable {
    public let dataDirectory: URL
    public let port: Int
    /// Also listen on localhost TCP (same port); off by default.
    public let listensOnTCP: Bool
    public let settings: [String: String]
    let binaries: URL
    let logger: Logger

    public static let superuser = "postgres"

    public init(
        dataDirectory: URL, port: Int = 5432, listensOnTCP: Bool = false, settings: [String: String] = [:],
        logger: Logger = Logger(label: "huifang.embedded-postgres")
    ) throws {
        self.dataDirectory = dataDirectory.standardizedFileURL
        self.port = port
        self.listensOnTCP = listensOnTCP
        self.settings = settings
        self.logger = logger
        self.binaries = try Self.findBinaries()
        let socketPath = self.dataDirectory.path + "/.s.PGSQL.\(port)"
        guard socketPath.utf8.count < 104 else {
            throw EmbeddedClusterError.socketPathTooLong(socketPath)
        }
    }

    /// The directory holding the socket: the data directory itself.
    public var socketDirectory: String { dataDirectory.path }

    /// Connection settings for `database` as the cluster's superuser, over the unix socket.
    public func configuration(database: String = "postgres", user: String = superuser) -> ConnectionConfiguration {
        ConnectionConfiguration(conninfo: "host=\(socketDirectory) port=\(port) dbname=\(database) user=\(user)")
    }

    /// `postgresql://` URL for tools such as psql and pgbench.
    public func url(database: String = "postgres") -> String {
        let encoded = socketDirectory.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? socketDirectory
        return "postgresql://\(Self.superuser)@/\(database)?host=\(encoded)&port=\(port)"
    }

    var logFile: URL { dataDirectory.appendingPathComponent("server.log") }
    /// Which process started (or adopted) the running server.
    var ownerFile: URL { dataDirectory.appendingPathComponent("huifang.owner") }

    /// Initializes the directory on first use, then starts the server unless it is already running.
    /// Returns whether the caller owns the server now and should stop it when done: when this call
    /// started it, or adopted one that a process which has since died (a crashed `huifang`) left
    /// running. A server whose owner still runs is left to that owner.
    @discardableResult
    public func start() throws -> Bool {
        if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            try initialize()
        }
        if isRunning() {
            if let owner = ProcessStamp.read(from: ownerFile), owner.isAlive, owner != .current {
                logger.info("embedded PostgreSQL already running", metadata: ["data": "\(dataDirectory.path)", "owner": "\(owner.pid)"])
                return false
            }
            try ProcessStamp.current.write(to: ownerFile)
            logger.notice(
                "adopted the embedded PostgreSQL that an earlier process left running; it stops with this one",
                metadata: ["data": "\(dataDirectory.path)"])
            return true
        }
        var options = ["-k", socketDirectory, "-p", String(port)]
        options += ["-c", "listen_addresses=\(listensOnTCP ? "localhost" : "")"]
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) { options += ["-c", "\(name)=\(value)"] }
        let quoted = options.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let result = try runTool(
            "pg_ctl", ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "-o", quoted, "start"])
        guard result.status == 0 else {
            throw EmbeddedClusterError.toolFailed("pg_ctl start", result.output + "\n" + lastLogLines())
        }
        try ProcessStamp.current.write(to: ownerFile)
        logger.info("embedded PostgreSQL started", metadata: ["socket": "\(socketDirectory)"])
        return true
    }

    /// Stops the server: `fast` rolls back open transactions and disconnects clients; `immediate` does not wait.
    public func stop(mode: String = "fast") throws {
        guard isRunning() else { return }
        let result = try runTool("pg_ctl", ["-D", dataDirectory.path, "-m", mode, "-w", "-t", "60", "stop"])
        guard result.status == 0 else { throw EmbeddedClusterError.toolFailed("pg_ctl stop", result.output) }
        try? FileManager.default.removeItem(at: ownerFile)
        logger.info("embedded PostgreSQL stopped")
    }

    public func isRunning() -> Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("postmaster.pid").path) else {
            return false
        }
        return (try? runTool("pg_ctl", ["-D", dataDirectory.path, "status"]).status) == 0
    }

    private func initialize() throws {
        if ServerUser.isNeeded {
            if let closed = ServerUser.firstClosedDirectory(on: dataDirectory.deletingLastPathComponent()) {
                throw EmbeddedClusterError.unreachableDataDirectory(dataDirectory.path, closedParent: closed)
            }
            try ServerUser.createDirectory(dataDirectory)
        } else {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        }
        let result = try runTool(
            "initdb",
            ["-D", dataDirectory.path, "-U", Self.superuser, "--auth-local=trust", "--auth-host=scram-sha-256",
             "-E", "UTF8", "--locale=C", "--no-instructions"])
        guard result.status == 0 else { throw EmbeddedClusterError.toolFailed("initdb", result.output) }
        logger.info("initialized embedded PostgreSQL", metadata: ["data": "\(dataDirectory.path)"])
    }

    private func lastLogLines() -> String {
        guard let log = try? String(contentsOf: logFile, encoding: .utf8) else { return "" }
        return log.split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    /// Runs a server tool, as the `postgres` user when we are root; returns its status and output.
    /// As `postgres` it starts in `/`: the tools change back to the working directory, which that
    /// user may not be allowed to enter (a checkout under `/root`).
    func runTool(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let path = binaries.appendingPathComponent(tool).path
        if ServerUser.isNeeded {
            return try ChildProcess.run(
                "/usr/sbin/runuser", ["-u", ServerUser.name, "--", "/usr/bin/env", "-C", "/", path] + arguments)
        }
        return try ChildProcess.run(path, arguments)
    }

    /// The directory of `initdb`, `pg_ctl` and `postgres`: `pg_config --bindir`, Debian's
    /// `/usr/lib/postgresql/<newest>/bin`, then `PATH`.
    static func findBinaries() throws -> URL {
        try discoveredBinaries.get()
    }

    /// Looked up once per process: the search spawns `pg_config`.
    private static let discoveredBinaries = Result { try searchBinaries() }

    private static func searchBinaries() throws -> URL {
        var candidates: [String] = []
        if let bindir = try? capture("/usr/bin/env", ["pg_config", "--bindir"]) { candidates.append(bindir) }
        let debian = "/usr/lib/postgresql"
        if let versions = try? FileManager.default.contentsOfDirectory(atPath: debian) {
            for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
                candidates.append("\(debian)/\(version)/bin")
            }
        }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in candidates
        where ["initdb", "pg_ctl", "postgres"].allSatisfy({ FileManager.default.isExecutableFile(atPath: "\(directory)/\($0)") }) {
            return URL(fileURLWithPath: directory)
        }
        throw EmbeddedClusterError.binariesNotFound(searched: candidates.prefix(6).joined(separator: ", "))
    }

    private static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        let result = try ChildProcess.run(executable, arguments)
        guard result.status == 0 else { throw EmbeddedClusterError.binariesNotFound(searched: executable) }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Path to a tool that ships with the server binaries (pgbench, psql).
    public static func toolPath(_ name: String) throws -> String {
        try findBinaries().appendingPathComponent(name).path
    }
}

public enum EmbeddedClusterError: Error, CustomStringConvertible {
    case binariesNotFound(searched: String)
    case toolFailed(String, String)
    case noPostgresUser
    case socketPathTooLong(String)
    case unreachableDataDirectory(String, closedParent: String)

    public var description: String {
        switch self {
        case .binariesNotFound(let searched):
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found (looked in \(searched)). "
                + "Install them with: sudo apt-get install -y postgresql libpq-dev — or set DATABASE_URL to an existing server."
        case .toolFailed(let tool, let output):
            "\(tool) failed:\n\(output)"
        case .noPostgresUser:
            "running as root, but the directory could not be given to the 'postgres' OS user "
                + "(PostgreSQL refuses to run as root). Install the server with: apt-get install -y postgresql"
        case .unreachableDataDirectory(let directory, let closed):
            "the data directory \(directory) cannot be used: PostgreSQL runs as the 'postgres' user under root, "
                + "and that user may not enter \(closed). Choose a --data-dir outside it (for example /var/lib/huifang/pgdata), "
                + "or leave --data-dir out and Huifang places the cluster where postgres can reach it"
        case .socketPathTooLong(let path):
            "the socket path \(path) is too long for a unix socket; choose a shorter --data-dir"
        }
    }
}
