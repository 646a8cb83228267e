import Foundation
import Postgres

/// Directories under the temp folder named after the test process, so that a run killed before it
/// could clean up is cleaned up by the next one.
enum ThrowawayDirectories {
    static let prefix = "huifang-test-"

    static func make(purpose: String) -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)\(getpid())-\(purpose)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Stops clusters left by test processes that no longer run, and deletes their directories.
    static func removeStale() {
        let temp = FileManager.default.temporaryDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temp.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix(while: \.isNumber)), pid != getpid(),
                kill(pid, 0) != 0
            else { continue }
            let directory = temp.appendingPathComponent(name)
            if let cluster = try? EmbeddedCluster(dataDirectory: directory.appendingPathComponent("pgdata")) {
                try? cluster.stop(mode: "immediate")
            }
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Registers a cluster to be stopped, and its directory removed, when the process exits.
    static func stopAtExit(_ cluster: EmbeddedCluster, directory: URL) {
        atExit.withLock { $0.append((cluster, directory)) }
        if !registered.withLock({ let was = $0; $0 = true; return was }) {
            atexit {
                for (cluster, directory) in ThrowawayDirectories.atExit.withLock({ $0 }) {
                    try? cluster.stop(mode: "immediate")
                    try? FileManager.default.removeItem(at: directory)
                }
            }
        }
    }

    static let atExit = Locked<[(EmbeddedCluster, URL)]>([])
    static let registered = Locked(false)
}

/// A value behind a lock, for the little shared state test support needs.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
