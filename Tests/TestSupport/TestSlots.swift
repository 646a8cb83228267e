import Foundation

/// How many tests of this process may work on a database at once.
///
/// Swift Testing starts every test at once. On a two-core machine that meant some 260 databases
/// cloned together and a load average near 37 for minutes, so a statement that takes 0.3 s alone
/// took over 5 s, and tests failed on their server's statement timeout or their HTTP client's
/// read timeout — failures of the machine, not of the code. A test holds a slot while it has a
/// database or a private cluster; the others wait their turn. `HUIFANG_TEST_WIDTH` overrides the
/// width (four per core by default: tests also sleep, poll and wait on the network).
public actor TestSlots {
    public static let shared = TestSlots(width: TestSlots.configuredWidth)

    /// Whether the current task (or the task that started it) already holds a slot: a test that
    /// opens a second database, or a private cluster inside its database, does not wait for itself.
    @TaskLocal static var held = false

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) {
        free = max(width, 1)
    }

    static var configuredWidth: Int {
        if let text = ProcessInfo.processInfo.environment["HUIFANG_TEST_WIDTH"], let width = Int(text), width > 0 {
            return width
        }
        return max(4, 4 * ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Runs `body` holding a slot, waiting for one first unless this task holds one already.
    public static func hold<T>(_ body: () async throws -> T) async throws -> T {
        if held { return try await body() }
        await shared.acquire()
        do {
            let result = try await $held.withValue(true) { try await body() }
            await shared.release()
            return result
        } catch {
            await shared.release()
            throw error
        }
    }

    private func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
