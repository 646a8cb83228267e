import Foundation

/// Where the numbered SQL files are: `HUIFANG_SQL_DIR`, else `./sql`, else the `sql/` folder of the
/// source tree this binary was built from (so `swift run` and `swift test` work from any directory).
public enum MigrationsDirectory {
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        var candidates: [URL] = []
        if let configured = environment["HUIFANG_SQL_DIR"] { candidates.append(URL(fileURLWithPath: configured)) }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("sql"))
        candidates.append(sourceTreeRoot.appendingPathComponent("sql"))
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("0001_foundation.sql").path) {
            return candidate
        }
        throw StoreError.migrationsNotFound(candidates.map(\.path))
    }

    /// The package root, three levels above this file (`Sources/Store/…`).
    static let sourceTreeRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
