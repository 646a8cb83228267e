import Foundation
import Synchronization

/// Regular expressions compiled once per pattern. `String.range(of:options: .regularExpression)`
/// compiles its pattern again on every call; it showed in the server's profile of requests with an
/// id in their path (issue 23), and it ran for every field of a CSV export.
public enum Patterns {
    private static let compiled = Mutex<[String: NSRegularExpression]>([:])

    /// Whether `pattern` matches somewhere in `text`, as `text.range(of: pattern, options: .regularExpression) != nil`
    /// says (an anchored pattern, `^…$`, the whole text); an invalid pattern matches nothing.
    public static func matches(_ text: String, _ pattern: String) -> Bool {
        let regex = compiled.withLock { cache -> NSRegularExpression? in
            if let regex = cache[pattern] { return regex }
            guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
            cache[pattern] = regex
            return regex
        }
        guard let regex else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// `^[+-]?[0-9]{1,19}$`: a whole number as a URL writes it, without a regular expression.
    public static func isWholeNumber(_ text: String) -> Bool {
        var digits = Substring(text).utf8[...]
        if let sign = digits.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { digits = digits.dropFirst() }
        return (1...19).contains(digits.count) && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
