import Foundation

/// An `application/x-www-form-urlencoded` body (or query): every value of every name, in order.
struct FormData: Sendable {
    private(set) var values: [String: [String]] = [:]

    init(_ encoded: String) {
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            values[decoded(parts[0]), default: []].append(parts.count > 1 ? decoded(parts[1]) : "")
        }
    }

    subscript(_ name: String) -> String? { values[name]?.first }

    /// The value, trimmed, nil when blank.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    func all(_ name: String) -> [String] { values[name] ?? [] }

    func int64(_ name: String) -> Int64? { text(name).flatMap { Int64($0) } }
}
