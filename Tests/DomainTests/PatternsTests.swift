import Domain
import Foundation
import Testing

/// The compiled-once patterns answer as `String.range(of:options: .regularExpression)` does.
@Suite("Patterns compiled once")
struct PatternsTests {
    static let texts = ["0", "42", "+7", "-12", "007", "1234567890123456789", "12345678901234567890", "", "+", "-", "1.0", "1e3",
                        " 1", "1 ", "١٢", "12a", "a12", "9223372036854775807", "--1", "4\n"]

    @Test func aWholeNumberIsWhatTheURLPatternAccepted() {
        for text in Self.texts {
            let expected = text.range(of: "^[+-]?[0-9]{1,19}$", options: .regularExpression) != nil && !text.hasSuffix("\n")
            #expect(Patterns.isWholeNumber(text) == expected, "\(text.debugDescription)")
        }
    }

    @Test func aPatternMatchesWhereFoundationsSearchDoes() {
        let patterns = [#"^[0-9]{1,3}(\.[0-9]{1,2})?$"#, "^[a-z][A-Za-z0-9]{0,39}$", "[0-9]", #"^\d{4}-\d{2}$"#]
        for pattern in patterns {
            for text in Self.texts + ["12.5", "100.25", "1000", "abc", "aB9", "2026-12", "x2026-12"] {
                let expected = text.range(of: pattern, options: .regularExpression) != nil
                #expect(Patterns.matches(text, pattern) == expected, "\(pattern) on \(text.debugDescription)")
            }
        }
        #expect(!Patterns.matches("anything", "(unclosed"), "an invalid pattern matches nothing")
    }
}
