import Foundation

/// CPU time a process has used so far (user + system), from `/proc/<pid>/stat`: Linux only, nil
/// elsewhere or when the process is gone.
enum ProcessCPU {
    static func seconds(of pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = text.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
        let fields = text[text.index(after: afterName)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static var ownSeconds: Double? { seconds(of: getpid()) }
}
