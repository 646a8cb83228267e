import Foundation

/// A process told apart from a later one that reuses its pid: the pid and the time it started
/// (field 22 of `/proc/PID/stat`, in clock ticks since boot).
struct ProcessStamp: Equatable, Sendable {
    var pid: Int32
    var startTime: String

    static var current: ProcessStamp { ProcessStamp(pid: getpid(), startTime: startTime(of: getpid()) ?? "") }

    /// Whether this very process still runs.
    var isAlive: Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let now = Self.startTime(of: pid) else { return true }
        return startTime.isEmpty || now == startTime
    }

    static func read(from file: URL) -> ProcessStamp? {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard let first = fields.first, let pid = Int32(first) else { return nil }
        return ProcessStamp(pid: pid, startTime: fields.count > 1 ? String(fields[1]) : "")
    }

    func write(to file: URL) throws {
        try Data("\(pid) \(startTime)\n".utf8).write(to: file)
    }

    private static func startTime(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ")", options: .backwards)
        else { return nil }
        // Fields after the command name start at field 3; the start time is field 22.
        let fields = stat[afterName.upperBound...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }
}
