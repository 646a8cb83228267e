import Foundation
import Postgres
import Testing
import TestSupport

@Suite("The embedded cluster starts for root in a private directory and leaves no orphan")
struct EmbeddedClusterLocationTests {
    static let runsAsRoot = geteuid() == 0

    @Test(
        .enabled(if: runsAsRoot, "needs root: only then does PostgreSQL run as the postgres user, who may not enter a mode-700 checkout"))
    func aCheckoutUnderAMode700DirectoryGetsAClusterThePostgresUserCanReach() async throws {
        let home = TestCluster.makeThrowawayDirectory(purpose: "home700")
        defer { try? FileManager.default.removeItem(at: home) }
        chmod(home.path, 0o700)
        let checkout = home.appendingPathComponent("huifang", isDirectory: true)
        try FileManager.default.createDirectory(at: checkout, withIntermediateDirectories: true)
        let fallbackRoot = TestCluster.makeThrowawayDirectory(purpose: "varlib")
        defer { try? FileManager.default.removeItem(at: fallbackRoot) }

        let location = try EmbeddedClusterLocation.resolve(requested: nil, projectDirectory: checkout, fallbackRoot: fallbackRoot)
        #expect(location.dataDirectory.path.hasPrefix(fallbackRoot.path + "/"))
        #expect(location.notice?.contains(home.path) == true)
        let record = checkout.appendingPathComponent(".huifang/cluster-location")
        #expect(try String(contentsOf: record, encoding: .utf8) == location.dataDirectory.path + "\n")

        let cluster = try EmbeddedCluster(dataDirectory: location.dataDirectory, port: 5434, logger: TestCluster.quietLogger)
        defer { try? cluster.stop(mode: "immediate") }
        #expect(try cluster.start())
        let pool = Pool(configuration: cluster.configuration(), size: 1)
        #expect(try await pool.query("select 41 + 1").single().decode(0, as: Int.self) == 42)
        await pool.shutdown()
        try cluster.stop()
        #expect(!cluster.isRunning())

        let again = try EmbeddedClusterLocation.resolve(requested: nil, projectDirectory: checkout, fallbackRoot: fallbackRoot)
        #expect(again.dataDirectory == location.dataDirectory)
    }

    @Test(.enabled(if: runsAsRoot, "needs root: only then must the postgres user be able to reach the data directory"))
    func anExplicitDataDirectoryThePostgresUserCannotReachIsRefusedWithTheFix() throws {
        let home = TestCluster.makeThrowawayDirectory(purpose: "home700")
        defer { try? FileManager.default.removeItem(at: home) }
        chmod(home.path, 0o700)
        let requested = home.appendingPathComponent("huifang/.huifang/pgdata").path

        let error = try #require(throws: EmbeddedClusterError.self) {
            try EmbeddedClusterLocation.resolve(requested: requested, projectDirectory: home)
        }
        #expect(error.description.contains(requested))
        #expect(error.description.contains("may not enter \(home.path)"))
        #expect(error.description.contains("--data-dir"))
        #expect(!FileManager.default.fileExists(atPath: requested))
    }

    @Test func theDefaultIsTheProjectsOwnFolderWhenThePostgresUserCanReachIt() throws {
        let project = TestCluster.makeThrowawayDirectory(purpose: "open")
        defer { try? FileManager.default.removeItem(at: project) }
        chmod(project.path, 0o755)

        let location = try EmbeddedClusterLocation.resolve(requested: nil, projectDirectory: project)
        #expect(location.dataDirectory.path == project.appendingPathComponent(".huifang/pgdata").path)
        #expect(location.notice == nil)
    }

    @Test func aServerLeftRunningByACrashedProcessIsAdoptedAndOneWhoseOwnerRunsIsLeftAlone() async throws {
        try await TestCluster.withPrivateCluster { cluster in
            #expect(try cluster.start())
            let owner = cluster.dataDirectory.appendingPathComponent("huifang.owner")

            // The owner is a process that no longer runs: this start adopts the server and must stop it.
            try Data("\(Self.unusedPid()) 12345\n".utf8).write(to: owner)
            #expect(try cluster.start())
            #expect(try String(contentsOf: owner, encoding: .utf8).hasPrefix("\(getpid()) "))

            // The owner still runs (here: init): the server is theirs to stop.
            try Data("1\n".utf8).write(to: owner)
            #expect(try !cluster.start())
            #expect(cluster.isRunning())

            try cluster.stop()
            #expect(!FileManager.default.fileExists(atPath: owner.path))
        }
    }

    private static func unusedPid() -> Int32 {
        var pid: Int32 = 4_000_000
        while kill(pid, 0) == 0 || errno != ESRCH { pid -= 1 }
        return pid
    }
}
