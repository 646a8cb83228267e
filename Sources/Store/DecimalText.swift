import Foundation

extension Decimal {
    /// Exactly two decimals, rounded half up: money and percentages as the API and reports write them.
    public var twoDecimals: String {
        var input = self
        var rounded = Decimal()
        NSDecimalRound(&rounded, &input, 2, .plain)
        let text = "\(rounded)"
        guard let dot = text.firstIndex(of: ".") else { return text + ".00" }
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        return text + String(repeating: "0", count: max(0, 2 - decimals))
    }
}
