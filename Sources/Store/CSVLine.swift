import Domain
import Foundation

/// One CSV line (RFC 4180 quoting) for reports and rejects files.
public enum CSVLine {
    public static func render(_ fields: [String]) -> String {
        fields.map { field in
            let cell = neutralized(field)
            // By byte: these are ASCII, which UTF-8 never uses inside another character.
            return cell.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
                ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }.joined(separator: ",")
    }

    private static let triggers: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠"]

    /// A cell a spreadsheet would run as a formula — starting, after any spaces, with =, +, -, @, a
    /// tab, a line break, or their full-width forms (＝ ＋ － ＠, which Chinese-locale spreadsheets
    /// also read) — gets a leading apostrophe, as OWASP advises against CSV injection; plain
    /// numbers such as `-12.50` stay numbers.
    static func neutralized(_ field: String) -> String {
        guard let first = field.unicodeScalars.first(where: { $0 != " " && $0 != "\u{3000}" }) ?? field.unicodeScalars.first,
            triggers.contains(first)
        else { return field }
        if Patterns.matches(field, #"^[+-]?[0-9]+(\.[0-9]+)?$"#) { return field }
        return "'" + field
    }
}
