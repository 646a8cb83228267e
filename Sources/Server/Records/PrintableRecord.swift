import Console
import Domain
import Foundation
import Postgres
import Store

/// A record as the paper form filed in the archive (Art 5): title, branch, the client (masked),
/// each answer under its label, and the signatures with their time and digest.
struct PrintableRecord {
    let shown: ShownRecord

    init(_ shown: ShownRecord) {
        self.shown = shown
    }

    var html: String {
        let record = shown.record
        let title = shown.form?.title ?? record.formCode
        let answers = RecordAnswers.masked((try? record.answers.decode([String: JSONValue].self)) ?? [:])
        var rows = ""
        for field in shown.form?.fields ?? [] {
            rows += "<tr><th>\(escape(field.label))</th><td>\(answers[field.id].map(render) ?? "—")</td></tr>\n"
        }
        let known = Set(shown.form?.fields.map(\.id) ?? [])
        for (key, value) in answers.sorted(by: { $0.key < $1.key }) where !known.contains(key) {
            rows += "<tr><th>\(escape(key))</th><td>\(render(value))</td></tr>\n"
        }
        var signatures = ""
        for signature in shown.signatures {
            signatures += """
                <tr><td>\(escape(signature.step.rawValue))</td><td>\(escape(signature.signerName)) (\(escape(signature.signerRole)))</td>\
                <td>\(signature.signedAt.shanghaiText(seconds: true))</td><td><code>\(signature.contentSHA256)</code>\
                \(signature.matchesContent ? "" : " <em>(signed an earlier text)</em>")</td></tr>\n
                """
        }
        if signatures.isEmpty { signatures = "<tr><td colspan=\"4\">Not signed yet.</td></tr>\n" }
        let revision = record.amendsId.map { " · revision \(record.revision), amends record \($0): \(escape(record.amendmentReason ?? ""))" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head><meta charset="utf-8"><title>\(escape(title)) · \(record.id)</title>
            <style>
            body { font-family: "Noto Sans CJK SC", "PingFang SC", sans-serif; margin: 2em; }
            table { border-collapse: collapse; width: 100%; margin-bottom: 1.5em; }
            th, td { border: 1px solid #444; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
            th { width: 30%; background: #f2f2f2; }
            code { font-size: 0.8em; word-break: break-all; }
            @media print { body { margin: 0; } }
            </style></head>
            <body>
            <h1>\(escape(title))</h1>
            <p>\(escape(shown.form?.attachment ?? "")) · form version \(record.formVersion) · record \(record.id)\(revision)</p>
            <table>
            <tr><th>营业部 Branch</th><td>\(escape(record.branchCode)) \(escape(record.branchName))</td></tr>
            <tr><th>客户 Client</th><td>\(escape(record.subjectNo)) \(escape(Self.maskedName(record.subjectName)))</td></tr>
            <tr><th>回访责任人 Performer</th><td>\(escape(record.performerName))</td></tr>
            <tr><th>状态 State</th><td>\(escape(record.state.rawValue))\(record.returnReason.map { " — " + escape($0) } ?? "")</td></tr>
            </table>
            <h2>回访内容 Answers</h2>
            <table>
            \(rows)</table>
            <h2>签署 Signatures</h2>
            <table>
            <tr><th>Step</th><th>Signer</th><th>Time (Asia/Shanghai)</th><th>SHA-256 of the content</th></tr>
            \(signatures)</table>
            <p>Content digest now: <code>\(record.contentSHA256)</code></p>
            </body>
            </html>
            """
    }

    /// The family name shown, the rest hidden: enough to file, not enough to identify.
    static func maskedName(_ name: String) -> String {
        guard let first = name.first else { return "" }
        return String(first) + String(repeating: "*", count: max(name.count - 1, 1))
    }

    private func render(_ value: JSONValue) -> String {
        switch value {
        case .null: return "—"
        case .bool(let flag): return flag ? "是 yes" : "否 no"
        case .number(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .string(let text): return escape(text)
        case .array(let items): return items.isEmpty ? "—" : "<ul>" + items.map { "<li>\(render($0))</li>" }.joined() + "</ul>"
        case .object(let members):
            return members.sorted { $0.key < $1.key }.map { "\(escape($0.key)): \(render($0.value))" }.joined(separator: "; ")
        }
    }

    private func escape(_ text: String) -> String { Console.escapeHTML(text) }
}
