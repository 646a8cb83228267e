/// One-dimensional array literals: `{a,"b c",NULL}`.
enum PostgresArray {
    static func format(_ items: [String?]) -> String {
        var text = "{"
        for (index, item) in items.enumerated() {
            if index > 0 { text += "," }
            guard let item else {
                text += "NULL"
                continue
            }
            text += "\""
            for character in item {
                if character == "\"" || character == "\\" { text += "\\" }
                text.append(character)
            }
            text += "\""
        }
        return text + "}"
    }

    static func parse(_ text: String) -> [String?]? {
        var characters = Substring(text)
        guard characters.first == "{", characters.last == "}" else { return nil }
        characters = characters.dropFirst().dropLast()
        var items: [String?] = []
        guard !characters.isEmpty else { return items }
        var index = characters.startIndex
        while true {
            guard index <= characters.endIndex else { return nil }
            if index < characters.endIndex, characters[index] == "\"" {
                var item = ""
                index = characters.index(after: index)
                while index < characters.endIndex, characters[index] != "\"" {
                    if characters[index] == "\\" { index = characters.index(after: index) }
                    guard index < characters.endIndex else { return nil }
                    item.append(characters[index])
                    index = characters.index(after: index)
                }
                guard index < characters.endIndex else { return nil }
                index = characters.index(after: index)
                items.append(item)
            } else {
                let end = characters[index...].firstIndex(of: ",") ?? characters.endIndex
                let item = String(characters[index..<end])
                if item.hasPrefix("{") { return nil }  // multi-dimensional arrays are not supported
                items.append(item == "NULL" ? nil : item)
                index = end
            }
            if index == characters.endIndex { return items }
            guard characters[index] == "," else { return nil }
            index = characters.index(after: index)
        }
    }
}
