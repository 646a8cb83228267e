/// Masks personal data for every response and log line: ID numbers keep their first 3 and last 4
/// characters (`110***********1234`), phone numbers their first 3 and last 4 digits (`138****5678`).
public enum PersonalDataMask {
    public static func idNumber(_ value: String) -> String {
        keep(value, prefix: 3, suffix: 4)
    }

    public static func phone(_ value: String) -> String {
        keep(value, prefix: 3, suffix: 4)
    }

    /// Too short to keep both ends and still hide something: hide all but the last character or two.
    private static func keep(_ value: String, prefix: Int, suffix: Int) -> String {
        let characters = Array(value)
        if characters.count > prefix + suffix {
            let hidden = characters.count - prefix - suffix
            return String(characters.prefix(prefix)) + String(repeating: "*", count: hidden) + String(characters.suffix(suffix))
        }
        let shown = characters.count >= 4 ? 2 : 0
        return String(repeating: "*", count: characters.count - shown) + String(characters.suffix(shown))
    }
}
