import Foundation

/// Where a project's embedded cluster keeps its data.
///
/// The default is `.huifang/pgdata` in the project. Under root the server runs as the `postgres`
/// user, who cannot reach it when a parent directory is closed to others (`/root`, a `mktemp -d`
/// folder: mode 700). The cluster then lives under `/var/lib/huifang/<hash of the project path>`,
/// and `.huifang/cluster-location` records where, so later runs find it again.
public struct EmbeddedClusterLocation: Sendable, Equatable {
    public var dataDirectory: URL
    /// Set when the cluster is not where it would be by default: one line saying where and why.
    public var notice: String?

    public static let projectFolder = ".huifang"
    public static let recordFile = "cluster-location"
    public static let defaultFallbackRoot = URL(fileURLWithPath: "/var/lib/huifang", isDirectory: true)

    /// The data directory for `requested` (`--data-dir`), or the project's default when it is `nil`.
    public static func resolve(
        requested: String?, projectDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        fallbackRoot: URL = defaultFallbackRoot
    ) throws -> EmbeddedClusterLocation {
        let project = projectDirectory.standardizedFileURL
        if let requested {
            let directory = URL(fileURLWithPath: requested, relativeTo: project).standardizedFileURL
            if ServerUser.isNeeded, let closed = ServerUser.firstClosedDirectory(on: directory.deletingLastPathComponent()) {
                throw EmbeddedClusterError.unreachableDataDirectory(directory.path, closedParent: closed)
            }
            return EmbeddedClusterLocation(dataDirectory: directory)
        }
        let folder = project.appendingPathComponent(projectFolder, isDirectory: true)
        let record = folder.appendingPathComponent(recordFile)
        if let recorded = try? String(contentsOf: record, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !recorded.isEmpty
        {
            return EmbeddedClusterLocation(
                dataDirectory: URL(fileURLWithPath: recorded, isDirectory: true),
                notice: "embedded PostgreSQL lives in \(recorded) (recorded in \(record.path))")
        }
        let local = EmbeddedClusterLocation(dataDirectory: folder.appendingPathComponent("pgdata", isDirectory: true))
        guard ServerUser.isNeeded else { return local }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard let closed = ServerUser.firstClosedDirectory(on: folder) else { return local }

        let directory = fallbackRoot
            .appendingPathComponent(stableHash(project.path), isDirectory: true)
            .appendingPathComponent("pgdata", isDirectory: true)
        try ServerUser.createDirectory(directory.deletingLastPathComponent())
        try Data((directory.path + "\n").utf8).write(to: record)
        return EmbeddedClusterLocation(
            dataDirectory: directory,
            notice: "embedded PostgreSQL lives in \(directory.path): the postgres user cannot enter \(closed) "
                + "(recorded in \(record.path))")
    }

    /// FNV-1a over the path: the same project gets the same directory in every run and every build
    /// (Swift's `Hasher` is seeded per process).
    static func stableHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16).leftPadded(to: 16)
    }
}

/// The OS user the server runs as under root, and what it can reach.
enum ServerUser {
    static let name = "postgres"
    static var isNeeded: Bool { geteuid() == 0 }

    /// The outermost directory on the way to `directory` (itself included) that the server user may
    /// not enter, or `nil` when it can reach `directory`'s nearest existing ancestor.
    static func firstClosedDirectory(on directory: URL) -> String? {
        var existing = directory.standardizedFileURL
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            existing.deleteLastPathComponent()
        }
        guard !canEnter(existing.path) else { return nil }
        var path = ""
        for component in existing.pathComponents.dropFirst() {
            path += "/" + component
            if !canEnter(path) { return path }
        }
        return existing.path
    }

    /// Creates `directory` (and its parents) and gives it to the server user.
    static func createDirectory(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try give(directory)
    }

    static func give(_ directory: URL) throws {
        guard getpwnam(name) != nil,
            try ChildProcess.run("/bin/chown", ["-R", "\(name):", directory.path]).status == 0
        else { throw EmbeddedClusterError.noPostgresUser }
        chmod(directory.path, 0o700)
    }

    /// Asks the kernel as that user (ACLs and groups included): `test -x` on a directory is search permission.
    static func canEnter(_ path: String) -> Bool {
        (try? ChildProcess.run("/usr/sbin/runuser", ["-u", name, "--", "/usr/bin/test", "-x", path]).status) == 0
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
