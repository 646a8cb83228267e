import Foundation

/// The figures of `huifang bench outage` and whether each goal was met.
struct OutageReport {
    struct Goal {
        var name: String
        var passed: Bool
        var got: String
    }

    var lines: [String] = []
    var goals: [Goal] = []
    var passed: Bool { goals.allSatisfy(\.passed) }

    init(outage: OutageResult, markerCounts: [String: Int], overload: OverloadResult) {
        let acknowledged = Set(outage.acknowledged)
        let missing = acknowledged.filter { (markerCounts[$0] ?? 0) == 0 }.count
        let saidCommittedMissing = outage.saidCommitted.filter { (markerCounts[$0] ?? 0) == 0 }.count
        let duplicated = markerCounts.values.filter { $0 > 1 }.count
        let answered = outage.entries.filter { $0.answer.status != nil }
        let longest = answered.map(\.answer.elapsed).max() ?? .zero
        let timedOut = outage.entries.filter { $0.answer.timedOut }.count
        let inFlightUnanswered = outage.entries.filter {
            $0.answer.status == nil && $0.answer.started < outage.faults.terminated && $0.answer.ended > outage.faults.terminated
        }.count
        let firstSuccess = outage.entries.filter { $0.answer.succeeded && $0.answer.ended >= outage.faults.restarted }.map(\.answer.ended).min()
        let recovery = firstSuccess.map { $0 - outage.faults.restarted }
        let duringLock = outage.entries.filter { outage.faults.lockHeld.contains($0.answer.started) }
        let longestDuringLock = duringLock.map(\.answer.elapsed).max() ?? .zero
        let bad5xx = outage.entries.filter {
            guard let status = $0.answer.status, status >= 500 else { return false }
            return status != 503 && !$0.answer.isOutcomeUnknown
        }
        let limit = OutageBenchmark.deadline + .seconds(1)
        let limitSeconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18

        lines.append("writes (\(outage.entries.count) requests):")
        lines.append("  acknowledged                 \(acknowledged.count) (\(outage.entries.filter { $0.answer.succeeded && $0.answer.replayed }.count) of them replayed answers)")
        lines.append("  acknowledged but missing     \(missing)")
        if !outage.saidCommitted.isEmpty {
            lines.append("  409 in-progress (committed, answer lost) \(outage.saidCommitted.count), of them missing \(saidCommittedMissing)")
        }
        lines.append("  duplicated                   \(duplicated) (of \(markerCounts.count) markers in the database)")
        let refused = outage.entries.map(\.answer).filter { (400..<500).contains($0.status ?? 0) }
        if !refused.isEmpty { lines.append("  refused (4xx)                \(Self.histogram(refused))") }
        lines.append("requests by phase and answer:")
        for phase in OutageTimeline.phases {
            let seen = Dictionary(grouping: outage.entries.filter { $0.phase == phase }, by: { Self.label($0.answer) }).mapValues(\.count)
            let text = seen.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", ")
            lines.append("  \(phase.padding(toLength: 20, withPad: " ", startingAt: 0)) \(text.isEmpty ? "-" : text)")
        }
        let exit = outage.faults.serverExit.map(String.init) ?? "still running after 35 s"
        lines.append("  (backends terminated: \(outage.faults.terminatedBackends); server exit after SIGTERM: \(exit))")
        lines.append("first success after PostgreSQL accepted again  \(recovery.map(Self.seconds) ?? "none")")
        lines.append("longest request during the held lock          \(Self.seconds(longestDuringLock)) (\(duringLock.count) requests)")
        lines.append(
            "longest answered request                      \(Self.seconds(longest)); timed out: \(timedOut); "
                + "unanswered in flight at SIGTERM: \(inFlightUnanswered)")

        let served = overload.answers.filter(\.succeeded).map(\.elapsed).sorted()
        let shed = overload.answers.filter { $0.status == 503 }.count
        let others = overload.answers.filter { !$0.succeeded && $0.status != 503 }
        let p99 = served.isEmpty ? Duration.zero : served[min(served.count - 1, Int((Double(served.count) * 0.99).rounded(.up)) - 1)]
        let share = Double(shed) / Double(max(overload.answers.count, 1)) * 100
        lines.append("overload: \(overload.answers.count) concurrent GET /problems?limit=50, pool of \(overload.poolSize):")
        let otherAnswers = others.isEmpty ? "" : " (" + Self.histogram(others) + ")"
        lines.append("  served \(served.count), shed with 503 \(shed) (\(String(format: "%.1f", share)) %), other \(others.count)\(otherAnswers)")
        if let overflows = overload.listenOverflows {
            lines.append("  connections the kernel dropped from the full listen queue (TcpExtListenOverflows): \(overflows)")
        }
        let longestOverload = overload.answers.filter { $0.status != nil }.map(\.elapsed).max() ?? .zero
        lines.append("  p99 of those served \(Self.seconds(p99)), longest answer \(Self.seconds(longestOverload)) (as the client saw them)")
        let served99 = overload.servedOnServer.bound(of: 0.99).map { String(format: "≤ %.2f s", $0) } ?? "-"
        let shed99 = overload.shedOnServer.bound(of: 0.99).map { String(format: "≤ %.2f s", $0) } ?? "-"
        lines.append(
            "  in the server, from request read to response (its /metrics histogram): p99 served \(served99), p99 shed \(shed99)")

        goals = [
            Goal(name: "0 acknowledged writes lost", passed: missing + saidCommittedMissing == 0, got: "\(missing + saidCommittedMissing)"),
            Goal(name: "0 duplicates when retried with the same key", passed: duplicated == 0, got: "\(duplicated)"),
            Goal(
                name: "every request answered within deadline + 1 s",
                passed: longest <= limit && timedOut == 0 && inFlightUnanswered == 0,
                got: "longest \(Self.seconds(longest)), \(timedOut) timed out, \(inFlightUnanswered) in flight unanswered"),
            Goal(
                name: "recovery ≤ 2 s after PostgreSQL accepts", passed: recovery.map { $0 <= OutageBenchmark.recoveryGoal } ?? false,
                got: recovery.map(Self.seconds) ?? "no success"),
            Goal(
                name: "no 5xx but 503 and outcome-unknown", passed: bad5xx.isEmpty,
                got: bad5xx.isEmpty ? "none" : Self.histogram(bad5xx.map(\.answer))),
            // Judged where the server can be held to it: from reading a request to answering it. On
            // one 2-core machine the client's 10,000 connection setups queue in the kernel and in
            // libcurl before the server sees them; that wait is printed above, not judged.
            Goal(
                name: "overload: all 2xx or 503, answered in time",
                passed: others.isEmpty && overload.servedOnServer.bound(of: 0.99).map { $0 <= limitSeconds } ?? false
                    && overload.shedOnServer.bound(of: 0.99).map { $0 <= limitSeconds } ?? true,
                got: "\(others.count) other; in the server p99 served \(served99), shed \(shed99)"),
        ]
    }

    func print() {
        for line in lines { Swift.print(line) }
        Swift.print("goals:")
        for goal in goals {
            Swift.print("  \(goal.passed ? "PASS" : "FAIL") \(goal.name.padding(toLength: 46, withPad: " ", startingAt: 0)) \(goal.got)")
        }
    }

    static func label(_ answer: HTTPAnswer) -> String {
        guard let status = answer.status else { return answer.timedOut ? "timed out" : "no answer" }
        guard status >= 400, let type = answer.problemType?.split(separator: "/").last else { return "\(status)" }
        return "\(status) \(type)"
    }

    static func histogram(_ answers: [HTTPAnswer]) -> String {
        Dictionary(grouping: answers, by: label).mapValues(\.count).sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }
            .joined(separator: ", ")
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
