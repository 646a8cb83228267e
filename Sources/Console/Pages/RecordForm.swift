import Domain
import Foundation

/// A record form version as HTML inputs, and a submitted form back as the answers object the API
/// takes. The form's definition drives both: its fields, their kinds, options, ranges and whether
/// they are required; the API's validation of the same definition names what is wrong, per field.
struct RecordFormView {
    let fields: [FormField]
    /// The inputs' name prefix, and where the API names their problems: a record's own answers, or
    /// the client profile (Attachment 4 or 5) a service record carries.
    var prefix = "a"
    var errorPath = "answers"
    /// Rows offered for list fields (findings, verified fields, evidence).
    static let listRows = 3

    /// The inputs, filled with `answers`, each with the problems the API found in it.
    func inputs(_ answers: [String: JSONValue], problems: [ConsoleFailure.Field], directiveQuestions: [String], _ visit: Visit) -> HTML {
        let rows: [HTML] = fields.map { field in
            let value = answers[field.id]
            let path = "\(errorPath).\(field.id)"
            let errors: [HTML] = problems.filter { $0.field == path || $0.field.hasPrefix(path + ".") || $0.field.hasPrefix(path + "[") }
                .map { "<span class=\"error\">\(Labels.reason($0.reason, visit))</span>" }
            let required: HTML = field.required ? " <span class=\"req\">*</span>" : .empty
            return "<div class=\"label\"><label for=\"\(prefix).\(field.id)\">\(field.label)</label>\(required)</div><div>\(input(field, value, directiveQuestions, visit))\(errors)</div>"
        }
        return "<div class=\"fields\">\(rows)</div>"
    }

    private func input(_ field: FormField, _ value: JSONValue?, _ questions: [String], _ visit: Visit) -> HTML {
        let name = "\(prefix).\(field.id)"
        switch field.kind {
        case .text:
            return "<textarea id=\"\(name)\" name=\"\(name)\" rows=\"2\">\(value?.text ?? "")</textarea>"
        case .integer:
            let number = value?.number.map { String(Int($0)) } ?? ""
            return "<input type=\"number\" id=\"\(name)\" name=\"\(name)\" value=\"\(number)\"\(field.min.map { HTML(raw: " min=\"\($0)\"") })\(field.max.map { HTML(raw: " max=\"\($0)\"") })>"
        case .boolean:
            let current = value?.bool.map { $0 ? "true" : "false" }
            return "<select id=\"\(name)\" name=\"\(name)\"><option value=\"\"></option><option value=\"true\"\(current == "true" ? HTML(raw: " selected") : .empty)>\(visit.t("是", "Yes"))</option><option value=\"false\"\(current == "false" ? HTML(raw: " selected") : .empty)>\(visit.t("否", "No"))</option></select>"
        case .datetime:
            let local = value?.text.flatMap { ISO8601DateFormatter().date(from: $0) }.map(ShanghaiTime.localInput) ?? ""
            return "<input type=\"datetime-local\" id=\"\(name)\" name=\"\(name)\" value=\"\(local)\">"
        case .choice:
            return "<select id=\"\(name)\" name=\"\(name)\">\(Widgets.options(field.options ?? [], selected: value?.text, visit, blank: true))</select>"
        case .multiChoice:
            let chosen = Set(value?.array?.compactMap(\.text) ?? [])
            let boxes: [HTML] = (field.options ?? []).map { option in
                "<label><input type=\"checkbox\" name=\"\(name)\" value=\"\(option)\"\(chosen.contains(option) ? HTML(raw: " checked") : .empty)> \(Labels.word(option, visit))</label> "
            }
            return "<span id=\"\(name)\">\(boxes)</span>"
        case .ratings:
            let scores = value?.object ?? [:]
            let low = field.min ?? 1, high = field.max ?? 5
            let selects: [HTML] = (field.keys ?? []).map { key in
                let current = scores[key]?.number.map { String(Int($0)) }
                return "<label>\(key) <select name=\"\(name).\(key)\"><option value=\"\"></option>\((low...high).map { "<option value=\"\($0)\"\(String($0) == current ? HTML(raw: " selected") : .empty)>\($0)</option>" as HTML })</select></label> "
            }
            return "<span id=\"\(name)\">\(selects)</span>"
        case .textList:
            let lines = value?.array?.compactMap(\.text).joined(separator: "\n") ?? ""
            return "<textarea id=\"\(name)\" name=\"\(name)\" rows=\"2\" placeholder=\"\(visit.t("每行一项", "one per line"))\">\(lines)</textarea>"
        case .findings, .fieldChanges, .evidence:
            let items = value?.array ?? []
            let (kindKey, textKeys): (String, [String]) =
                switch field.kind {
                case .findings: ("kind", ["text"])
                case .fieldChanges: ("field", ["old", "new"])
                default: ("kind", ["ref"])
                }
            let rows: [HTML] = (0..<max(Self.listRows, items.count + 1)).map { index in
                let item = index < items.count ? items[index].object ?? [:] : [:]
                let texts: [HTML] = textKeys.map { key in
                    "<input type=\"text\" name=\"\(name).\(index).\(key)\" value=\"\(item[key]?.text ?? "")\" placeholder=\"\(key)\" class=\"grow\">"
                }
                return "<div class=\"row\"><select name=\"\(name).\(index).\(kindKey)\">\(Widgets.options(field.options ?? [], selected: item[kindKey]?.text, visit, blank: true))</select>\(texts)</div>"
            }
            return "<div id=\"\(name)\">\(rows)</div>"
        case .directiveAnswers:
            let given = value?.object ?? [:]
            let rows: [HTML] = questions.map { question in
                "<label>\(question)<textarea name=\"\(name).\(question)\" rows=\"2\">\(given[question]?.text ?? "")</textarea></label>"
            }
            return "<div id=\"\(name)\">\(rows)</div>"
        }
    }

    /// The answers a submitted form gives; blank inputs are left out, so the API names a required
    /// field that was left blank.
    func answers(_ form: FormData, directiveQuestions: [String]) -> [String: JSONValue] {
        var answers: [String: JSONValue] = [:]
        for field in fields {
            let name = "\(prefix).\(field.id)"
            switch field.kind {
            case .text:
                if let text = form.text(name) { answers[field.id] = .string(text) }
            case .integer:
                if let text = form.text(name) { answers[field.id] = Double(text).map(JSONValue.number) ?? .string(text) }
            case .boolean:
                if let text = form.text(name) { answers[field.id] = .bool(text == "true") }
            case .datetime:
                if let text = form.text(name) { answers[field.id] = .string(ShanghaiTime.rfc3339(fromLocalInput: text) ?? text) }
            case .choice:
                if let text = form.text(name) { answers[field.id] = .string(text) }
            case .multiChoice:
                let chosen = form.all(name).filter { !$0.isEmpty }
                if !chosen.isEmpty { answers[field.id] = .array(chosen.map(JSONValue.string)) }
            case .ratings:
                var scores: [String: JSONValue] = [:]
                for key in field.keys ?? [] {
                    if let text = form.text("\(name).\(key)"), let score = Double(text) { scores[key] = .number(score) }
                }
                if !scores.isEmpty { answers[field.id] = .object(scores) }
            case .textList:
                let lines = (form[name] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if !lines.isEmpty { answers[field.id] = .array(lines.map(JSONValue.string)) }
            case .findings, .fieldChanges, .evidence:
                let (kindKey, textKeys): (String, [String]) =
                    switch field.kind {
                    case .findings: ("kind", ["text"])
                    case .fieldChanges: ("field", ["old", "new"])
                    default: ("kind", ["ref"])
                    }
                var items: [JSONValue] = []
                for index in 0..<50 {
                    let kind = form.text("\(name).\(index).\(kindKey)")
                    let texts = textKeys.compactMap { key in form.text("\(name).\(index).\(key)").map { (key, $0) } }
                    if form["\(name).\(index).\(kindKey)"] == nil && texts.isEmpty { if index >= Self.listRows { break } else { continue } }
                    guard kind != nil || !texts.isEmpty else { continue }
                    var item: [String: JSONValue] = [:]
                    if let kind { item[kindKey] = .string(kind) }
                    for (key, text) in texts { item[key] = .string(text) }
                    items.append(.object(item))
                }
                if !items.isEmpty { answers[field.id] = .array(items) }
            case .directiveAnswers:
                var given: [String: JSONValue] = [:]
                for question in directiveQuestions { if let text = form.text("\(name).\(question)") { given[question] = .string(text) } }
                if !given.isEmpty { answers[field.id] = .object(given) }
            }
        }
        return answers
    }

    /// An answer as the printed record shows it.
    static func show(_ value: JSONValue?, _ visit: Visit) -> HTML {
        guard let value else { return "—" }
        switch value {
        case .null: return "—"
        case .bool(let flag): return "\(flag ? visit.t("是", "Yes") : visit.t("否", "No"))"
        case .number(let number): return "\(number == number.rounded() ? String(Int(number)) : String(number))"
        case .string(let text):
            if let instant = ISO8601DateFormatter().date(from: text) { return "\(ShanghaiTime.minute(instant))" }
            return "\(Labels.known(text, visit))"
        case .array(let items): return "<ul class=\"plain\">\(items.map { "<li>\(show($0, visit))</li>" as HTML })</ul>"
        case .object(let members):
            return members.sorted { $0.key < $1.key }.map { "<span class=\"muted\">\($0.key)</span> \(show($0.value, visit)) " as HTML }.joined()
        }
    }
}

extension JSONValue {
    var text: String? { if case .string(let text) = self { text } else { nil } }
    var number: Double? { if case .number(let number) = self { number } else { nil } }
    var bool: Bool? { if case .bool(let flag) = self { flag } else { nil } }
    var array: [JSONValue]? { if case .array(let items) = self { items } else { nil } }
    var object: [String: JSONValue]? { if case .object(let members) = self { members } else { nil } }

    /// Any JSON-shaped value of the API's types (answers, details) as a `JSONValue`, and back.
    static func of(_ value: some Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    func decoded<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: JSONEncoder().encode(self))
    }
}
