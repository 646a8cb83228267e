import API
import Foundation

/// Pieces every page uses: tables, deadlines with working days left, clocks, links.
enum Widgets {
    /// A deadline as the instant and the working days left ("剩余 1 个工作日"), coloured by urgency.
    static func due(_ date: Date, left: Int?, _ visit: Visit, stopped: String? = nil) -> HTML {
        let instant = ShanghaiTime.minute(date)
        if let stopped { return "<span class=\"due\">\(instant) \(Labels.badge(stopped, visit))</span>" }
        guard let left else { return "<span class=\"due\">\(instant)</span>" }
        let (css, text): (String, String) =
            if left < 0 {
                ("late", visit.t("已超期 \(-left) 个工作日", "\(-left) working day\(left == -1 ? "" : "s") overdue"))
            } else if left == 0 {
                ("warn", visit.t("今天是最后一个工作日", "last working day today"))
            } else {
                (left <= 1 ? "warn" : "ok", visit.t("剩余 \(left) 个工作日", "\(left) working day\(left == 1 ? "" : "s") left"))
            }
        return "<span class=\"due \(css)\">\(instant)<small>\(text)</small></span>"
    }

    /// A problem's or a forwarding's clock: its deadline, working days left while it runs, met or breached once stopped.
    static func clock(_ clock: Components.Schemas.Clock?, _ visit: Visit) -> HTML {
        guard let clock else { return "—" }
        let provisional: HTML = clock.provisional ? " <span class=\"badge\" title=\"\(visit.t("该年度官方工作日安排尚未载入", "the year's official calendar is not loaded"))\">\(visit.t("暂定", "provisional"))</span>" : .empty
        if clock.state == .running && clock.dueAt < visit.console.now() {
            return due(clock.dueAt, left: Int(clock.remainingWorkdays), visit) + provisional
        }
        return due(clock.dueAt, left: clock.state == .running ? Int(clock.remainingWorkdays) : nil, visit,
                   stopped: clock.state == .running ? nil : clock.state.rawValue) + provisional
    }

    static func table(_ headers: [String], _ rows: [[HTML]], empty: String, numeric: Set<Int> = [], id: String? = nil) -> HTML {
        guard !rows.isEmpty else { return "<p class=\"empty\">\(empty)</p>" }
        let head: [HTML] = headers.enumerated().map { "<th\(numeric.contains($0.offset) ? HTML(raw: " class=\"num\"") : .empty)>\($0.element)</th>" }
        let body: [HTML] = rows.map { row in
            "<tr>\(row.enumerated().map { "<td\(numeric.contains($0.offset) ? HTML(raw: " class=\"num\"") : .empty)>\($0.element)</td>" as HTML })</tr>"
        }
        return "<table\(id.map { HTML(raw: " id=\"\(HTML.escape($0))\"") })><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table>"
    }

    static func link(_ href: String, _ text: String) -> HTML { "<a href=\"\(href)\">\(text)</a>" }

    static func time(_ date: Date?) -> HTML { date.map { "<span class=\"due\">\(ShanghaiTime.minute($0))</span>" } ?? "—" }

    /// Key–value pairs in a compact grid.
    static func facts(_ pairs: [(String, HTML)]) -> HTML {
        "<dl class=\"kv\">\(pairs.map { "<div><dt>\($0.0)</dt><dd>\($0.1)</dd></div>" as HTML })</dl>"
    }

    /// A one-button form for a step (with the session's form token and, for problems, the ETag read).
    static func button(_ action: String, _ label: String, _ visit: Visit, hidden: [(String, String)] = [], primary: Bool = false, id: String? = nil) -> HTML {
        let fields: [HTML] = hidden.map { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\($0.1)\">" }
        return "<form method=\"post\" action=\"\(action)\" class=\"inline\">\(visit.formTokenField)\(fields)<button type=\"submit\"\(primary ? HTML(raw: " class=\"primary\"") : .empty)\(id.map { HTML(raw: " id=\"\(HTML.escape($0))\"") })>\(label)</button></form>"
    }

    static func options(_ codes: [String], selected: String? = nil, _ visit: Visit, blank: Bool = false) -> HTML {
        (blank ? "<option value=\"\"></option>" : .empty)
            + codes.map { "<option value=\"\($0)\"\($0 == selected ? HTML(raw: " selected") : .empty)>\(Labels.word($0, visit))</option>" as HTML }.joined()
    }
}
