import Foundation

/// The words of a delivery, the same on every channel: a subject line and plain lines of text, built
/// from the facts alone, with the API path of each thing named (there is no console yet).
public struct DeliveryMessage: Sendable, Equatable {
    public var subject: String
    public var lines: [String]

    public var text: String { ([subject] + lines).joined(separator: "\n") }

    public init(kind: DeliveryKind, facts: DeliveryFacts) {
        if kind == .digest {
            let due = facts.dueToday ?? 0, overdue = facts.overdue ?? 0
            subject = "[回访 Huifang] Daily digest \(facts.day ?? ""): \(due) due today, \(overdue) overdue"
            var lines = (facts.items ?? []).map { item in
                "\(item.overdue ? "OVERDUE" : "due today") · branch \(item.branchCode) · \(Self.describe(item.subjectKind, item.subjectId)) · "
                    + "due \(Self.shanghai(item.dueAt)) · \(Self.apiPath(item.subjectKind, item.subjectId))"
            }
            let listed = facts.items?.count ?? 0
            if due + overdue > listed { lines.append("… and \(due + overdue - listed) more: GET /monitoring/overdue") }
            if due + overdue == 0 { lines.append("Nothing is due today or overdue.") }
            self.lines = lines
            return
        }
        let what = Self.describe(facts.subjectKind ?? "notification", facts.subjectId ?? facts.notificationId ?? 0)
        let headline: String
        switch kind {
        case .warning: headline = "SLA warning (\(Self.percent(facts.stage)) of the time used)"
        case .breach: headline = "SLA breached"
        case .escalation: headline = "SLA escalated"
        case .handoff: headline = "Work handed to you"
        case .digest: headline = "Daily digest"
        }
        subject = "[回访 Huifang] \(headline): \(what), branch \(facts.branchCode ?? "?")"
        var lines: [String] = []
        if let at = facts.scheduledAt { lines.append("\(kind == .warning ? "Reached" : "Due") at \(Self.shanghai(at)) (Asia/Shanghai)") }
        if let role = facts.recipientRole { lines.append("For: \(role)") }
        if let kind = facts.subjectKind, let id = facts.subjectId { lines.append("API: \(Self.apiPath(kind, id))") }
        if let id = facts.notificationId { lines.append("Notification \(id): GET /notifications") }
        self.lines = lines
    }

    static func describe(_ kind: String, _ id: Int64) -> String {
        "\(kind.replacingOccurrences(of: "_", with: " ")) \(id)"
    }

    /// Where an API client reads the subject (GET), by subject kind.
    public static func apiPath(_ kind: String, _ id: Int64) -> String {
        switch kind {
        case "problem": "/problems/\(id)"
        case "callback_task": "/tasks/\(id)"
        case "record_upload": "/record-uploads/\(id)"
        case "evaluation": "/evaluations/\(id)"
        case "problem_forwarding": "/forwardings"
        case "directive_feedback": "/directive-feedback"
        case "evaluation_duty": "/evaluations/missing"
        default: "/timers?kind=\(kind)"
        }
    }

    static func percent(_ stage: String?) -> String {
        guard let stage, stage.hasPrefix("warning_") else { return "part" }
        return stage.dropFirst("warning_".count) + " %"
    }

    static func shanghai(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }
}
