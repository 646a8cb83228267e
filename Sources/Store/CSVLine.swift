import Domain
import Foundation

/// One CSV line (RFC 4180 quoting) for reports and rejects files.
public enum CSVLine {
    public static func render(_ fields: [String]) -> String {
        fields.map { field in
            let cell = neutralized(field)
            return cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\t" })
                ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }.joined(separator: ",")
    }

    /// A cell a spreadsheet would run as a formula — starting, after any spaces, with =, +, -, @, a
    /// tab, a line break, or their full-width forms (＝ ＋ － ＠, which Chinese-locale spreadsheets
    /// also read) — gets a leading apostrophe, as OWASP advises against CSV injection; plain
    /// numbers such as `-12.50` stay numbers.
    static func neutralized(_ field: String) -> String {
        let triggers: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠"]
        guard let first = field.unicodeScalars.first(where: { $0 != " " && $0 != "\u{3000}" }) ?? field.unicodeScalars.first,
            triggers.contains(first)
        else { return field }
        if Patterns.matches(field, #"^[+-]?[0-9]+(\.[0-9]+)?$"#) { return field }
        return "'" + field
    }
}
