import Foundation

/// One protocol exchange the server logged with `log_statement = all`: a simple query (its whole
/// text, perhaps several statements) or the execution of a prepared statement with its bound values.
struct LoggedStatement: Equatable, Sendable {
    var user: String
    var text: String
    /// `$1`, `$2`, … as the server received them (nil: NULL); empty for a simple query.
    var parameters: [String?]
    var isSimpleQuery: Bool
}

/// Reads the server log that `log_line_prefix = '\(StatementLog.linePrefix)'` wrote: a line starting
/// with the prefix opens an entry, any other line continues the one before (a statement or value
/// spanning lines).
enum StatementLog {
    static let prefixMarker = "@@huifang-bench "
    /// The `log_line_prefix` the capture sets: the marker and the user.
    static let linePrefix = prefixMarker + "%u@@ "

    static func parse(_ log: String) -> [LoggedStatement] {
        var statements: [LoggedStatement] = []
        for (user, message) in entries(log) {
            if let text = message.dropPrefix("LOG:  statement: ") {
                statements.append(LoggedStatement(user: user, text: text, parameters: [], isSimpleQuery: true))
            } else if let rest = message.dropPrefix("LOG:  execute "), let colon = rest.range(of: ": ") {
                // "execute <name>: <text>"; the name is ours or `<unnamed>`, never containing ": ".
                statements.append(
                    LoggedStatement(user: user, text: String(rest[colon.upperBound...]), parameters: [], isSimpleQuery: false))
            } else if let values = message.dropPrefix("DETAIL:  parameters: "), let last = statements.indices.last,
                      statements[last].user == user, !statements[last].isSimpleQuery, statements[last].parameters.isEmpty
            {
                statements[last].parameters = parameters(values)
            }
        }
        return statements
    }

    /// The log's entries: the user the prefix names and the message after it, continuation lines
    /// joined with newlines.
    static func entries(_ log: String) -> [(user: String, message: String)] {
        var entries: [(user: String, message: String)] = []
        for line in log.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(prefixMarker), let end = line.range(of: "@@ ", range: line.index(line.startIndex, offsetBy: prefixMarker.count)..<line.endIndex) {
                let user = line[line.index(line.startIndex, offsetBy: prefixMarker.count)..<end.lowerBound]
                entries.append((String(user), String(line[end.upperBound...])))
            } else if !entries.isEmpty {
                entries[entries.count - 1].message += "\n" + line
            }
        }
        if let last = entries.indices.last, entries[last].message.hasSuffix("\n") { entries[last].message.removeLast() }
        return entries
    }

    /// `$1 = '5', $2 = NULL, $3 = 'it''s'` → ["5", nil, "it's"]: the server writes each value as a
    /// quoted literal (quotes doubled) or NULL, in order.
    static func parameters(_ text: String) -> [String?] {
        var values: [String?] = []
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            rest = rest[dollar...].drop { $0 != "=" }.dropFirst().drop { $0 == " " }
            if rest.hasPrefix("NULL") {
                values.append(nil)
                rest = rest.dropFirst(4)
                continue
            }
            guard rest.first == "'" else { break }
            rest = rest.dropFirst()
            var value = ""
            while let quote = rest.firstIndex(of: "'") {
                value += rest[..<quote]
                rest = rest[rest.index(after: quote)...]
                guard rest.first == "'" else { break }
                value += "'"
                rest = rest.dropFirst()
            }
            values.append(value)
        }
        return values
    }
}

extension StringProtocol {
    func dropPrefix(_ prefix: String) -> String? { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil }
}
