/// The statements one request sent, as a pgbench script that sends them again the same way:
/// simple queries as text, prepared statements with their values as parameters (pgbench `-M
/// prepared` turns each `:variable` into `$n` and sends the value as text of unknown type, as our
/// libpq wrapper does); NULL is written in as `null`.
///
/// A write cannot be done twice on the same object, so its replay ends in ROLLBACK instead of its
/// COMMIT, and each pgbench client works on an object of its own (`rebind`): a value the request
/// sent that names the captured object is replaced, per client, by the same kind of object prepared
/// for that client — otherwise every client would wait for the others' row lock.
struct PgbenchReplay: Equatable, Sendable {
    var script: String
    /// `-D name=value` for pgbench.
    var variables: [String: String]
    /// Protocol exchanges the request made: one per logged entry (a pipelined batch would count
    /// once per statement, so this is an upper bound once the server pipelines).
    var roundTrips: Int
    /// SQL statements, counting each statement of a multi-statement simple query.
    var statements: Int
    /// Why pgbench cannot run it, when it cannot.
    var unreplayable: String?

    /// A value to rebind: `captured` as the request sent it, and the value each pgbench client
    /// (`client_id` 0, 1, …) uses instead; integers only (pgbench's `\set`).
    struct Rebinding: Equatable, Sendable {
        var captured: String
        var perClient: [Int64]
    }

    init(_ captured: [LoggedStatement], rollback: Bool, rebind: [Rebinding] = []) {
        // An empty query is the pool's check of a connection idle for a while: the capture sends
        // one request after a pause, a busy server does not send it.
        let logged = captured.filter { !($0.isSimpleQuery && Self.trimmingTrailingSemicolon($0.text).isEmpty) }
        var lines: [String] = []
        var variables: [String: String] = [:]
        var unreplayable: String?
        for (index, rebinding) in rebind.enumerated() where !rebinding.perClient.isEmpty {
            for (client, value) in rebinding.perClient.enumerated() {
                lines.append((client == 0 ? "\\if :client_id = 0" : "\\elif :client_id = \(client)"))
                lines.append("\\set rebind\(index + 1) \(value)")
            }
            lines.append("\\else")
            lines.append("\\set rebind\(index + 1) \(rebinding.captured)")
            lines.append("\\endif")
        }
        let lastCommit = rollback ? logged.lastIndex { Self.isCommit($0.text) } : nil
        var statements = 0
        for (position, entry) in logged.enumerated() {
            if let clash = Self.pgbenchVariableClash(in: entry.text) {
                unreplayable = unreplayable ?? "statement \(position + 1) contains \"\(clash)\", which pgbench reads as a variable"
            }
            statements += Self.splitStatements(entry.text).count
            if position == lastCommit {
                lines.append("ROLLBACK;")
                continue
            }
            if entry.isSimpleQuery {
                // Sent as one message: pgbench sends commands joined by \; together too.
                lines.append(Self.splitStatements(entry.text).joined(separator: " \\;\n") + ";")
                continue
            }
            let text = Self.replacingParameters(in: entry.text) { number in
                guard number >= 1, number <= entry.parameters.count else { return nil }
                guard let value = entry.parameters[number - 1] else { return "null" }
                if let index = rebind.firstIndex(where: { $0.captured == value && !$0.perClient.isEmpty }) {
                    return ":rebind\(index + 1)"
                }
                let name = "s\(position + 1)p\(number)"
                variables[name] = value
                return ":" + name
            }
            lines.append(Self.trimmingTrailingSemicolon(text) + ";")
        }
        self.script = lines.joined(separator: "\n") + "\n"
        self.variables = variables
        self.roundTrips = logged.count
        self.statements = statements
        self.unreplayable = unreplayable
    }

    static func isCommit(_ text: String) -> Bool {
        let word = trimmingTrailingSemicolon(text).lowercased()
        return word == "commit" || word == "end"
    }

    static func trimmingTrailingSemicolon(_ text: String) -> String {
        var result = Substring(text)
        while let last = result.last, last == ";" || last.isWhitespace { result = result.dropLast() }
        while let first = result.first, first.isWhitespace { result = result.dropFirst() }
        return String(result)
    }

    /// `$n` placeholders outside quoted literals, replaced by `replacement(n)` (kept when nil).
    static func replacingParameters(in text: String, _ replacement: (Int) -> String?) -> String {
        var output = ""
        var characters = Substring(text)
        var inLiteral = false
        while let character = characters.first {
            characters = characters.dropFirst()
            if character == "'" { inLiteral.toggle() }
            if character == "$", !inLiteral {
                let digits = characters.prefix { $0.isASCII && $0.isNumber }
                if let number = Int(digits), let replaced = replacement(number) {
                    output += replaced
                    characters = characters.dropFirst(digits.count)
                    continue
                }
            }
            output.append(character)
        }
        return output
    }

    /// The statements of a simple query: split at semicolons outside quoted literals and
    /// identifiers; empty ones dropped.
    static func splitStatements(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == ";" {
                parts.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        parts.append(current)
        return parts.map(trimmingTrailingSemicolon).filter { !$0.isEmpty }
    }

    /// pgbench takes any `:name` (letters, digits, `_`) as a variable, even inside a literal, but
    /// skips `::`; such text would be sent changed or fail, so the request is reported, not replayed.
    static func pgbenchVariableClash(in text: String) -> String? {
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            guard characters[index] == ":" else {
                index += 1
                continue
            }
            var end = index + 1
            while end < characters.count, characters[end] == ":" { end += 1 }
            if end == index + 1, end < characters.count, characters[end].isLetter || characters[end].isNumber || characters[end] == "_" {
                return String(characters[index..<min(characters.count, end + 8)])
            }
            index = end
        }
        return nil
    }
}
