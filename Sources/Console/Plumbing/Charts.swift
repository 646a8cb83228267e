import Foundation

/// Charts drawn on the server as inline SVG: no script, nothing to load.
enum Charts {
    /// Horizontal bars, one per label, each value a share 0…1 (drawn as a percentage) or a count.
    static func bars(_ items: [(label: String, value: Double, note: String)], percent: Bool, title: String) -> HTML {
        guard !items.isEmpty else { return .empty }
        let rowHeight = 18, labelWidth = 120, barWidth = 420, width = labelWidth + barWidth + 90
        let height = items.count * rowHeight + 26
        let top = percent ? 1.0 : max(items.map(\.value).max() ?? 1, 1)
        let rows: [HTML] = items.enumerated().map { index, item in
            let y = 20 + index * rowHeight
            let length = Int((item.value / top) * Double(barWidth))
            let colour = percent ? (item.value >= 0.95 ? "#2f8f5b" : item.value >= 0.8 ? "#d08a1c" : "#c4372b") : "#4a78b5"
            let shown = percent ? String(format: "%.1f%%", item.value * 100) : String(Int(item.value))
            return """
                <text x="\(labelWidth - 6)" y="\(y + 12)" text-anchor="end">\(item.label)</text>\
                <rect x="\(labelWidth)" y="\(y + 2)" width="\(max(length, 1))" height="\(rowHeight - 5)" fill="\(colour)"><title>\(item.label): \(shown) \(item.note)</title></rect>\
                <text x="\(labelWidth + length + 5)" y="\(y + 12)">\(shown)</text>
                """
        }
        return """
            <div class="chart"><svg role="img" aria-label="\(title)" width="100%" viewBox="0 0 \(width) \(height)" font-size="11" font-family="sans-serif">\
            <text x="4" y="12" font-weight="600">\(title)</text>\(rows)</svg></div>
            """
    }

    /// A month-by-month line of shares (0…1), oldest first.
    static func trend(_ points: [(label: String, value: Double?)], title: String) -> HTML {
        guard !points.isEmpty else { return .empty }
        let width = 560, height = 170, left = 40, bottom = 140, top = 24
        let step = points.count > 1 ? (width - left - 20) / (points.count - 1) : 0
        func y(_ value: Double) -> Int { bottom - Int(value * Double(bottom - top)) }
        let located = points.enumerated().compactMap { index, point in point.value.map { (left + index * step, y($0), $0) } }
        let line = located.map { "\($0.0),\($0.1)" }.joined(separator: " ")
        let grid: [HTML] = [0.0, 0.5, 1.0].map { "<line x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(y($0))\" y2=\"\(y($0))\" stroke=\"#dde1e8\"/><text x=\"\(left - 4)\" y=\"\(y($0) + 4)\" text-anchor=\"end\">\(Int($0 * 100))%</text>" }
        let labels: [HTML] = points.enumerated().map { "<text x=\"\(left + $0.offset * step)\" y=\"\(bottom + 16)\" text-anchor=\"middle\">\($0.element.label)</text>" }
        let dots: [HTML] = located.map { "<circle cx=\"\($0.0)\" cy=\"\($0.1)\" r=\"3\" fill=\"#9b1c1c\"><title>\(String(format: "%.1f%%", $0.2 * 100))</title></circle>" }
        return """
            <div class="chart"><svg role="img" aria-label="\(title)" width="100%" viewBox="0 0 \(width) \(height)" font-size="11" font-family="sans-serif">\
            <text x="4" y="12" font-weight="600">\(title)</text>\(grid)\(labels)<polyline fill="none" stroke="#9b1c1c" stroke-width="2" points="\(line)"/>\(dots)</svg></div>
            """
    }
}
