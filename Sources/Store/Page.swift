import Foundation
import Postgres

/// One page of a keyset-paginated list; `next` is the cursor of the following page, nil on the last.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }
}

extension SQL {
    /// A cursor's time part (microseconds since 1970, as `Cursor` writes it) as a timestamptz, exactly.
    static func timestamp(microseconds: Int64) -> SQL {
        "to_timestamp(\(microseconds)::numeric / 1000000)"
    }

    /// ` limit` one past the page (to know whether another follows), written into the statement
    /// rather than bound, so a plan made once per connection knows how few rows it will read.
    static func pageLimit(_ limit: Int) -> SQL {
        " limit \(unescaped: String(limit + 1))"
    }
}

/// Keyset cursors: the sort key of the last row, as `a.b` integers. Opaque to clients, checked here.
public enum Cursor {
    public static func encode(_ parts: Int64...) -> String {
        parts.map(String.init).joined(separator: ".")
    }

    /// The key of a row of a list ordered by a deadline (microseconds), then branch and id.
    public static func byDeadline(_ due: Date?, _ branch: Int, _ id: Int64) -> String {
        encode(microseconds(due ?? .distantPast), Int64(branch), id)
    }

    /// The key of a row of a list ordered by a time (microseconds), then id.
    public static func byTime(_ at: Date, _ id: Int64) -> String {
        encode(microseconds(at), id)
    }

    private static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The parts of a cursor, or nil when it is not one this server made.
    public static func decode(_ text: String, parts: Int) -> [Int64]? {
        let values = text.split(separator: ".", omittingEmptySubsequences: false).map { Int64($0) }
        guard values.count == parts, values.allSatisfy({ $0 != nil }) else { return nil }
        return values.map { $0! }
    }

    /// Fetches `limit + 1` rows to know whether another page follows.
    public static func page<Item>(_ rows: [Item], limit: Int, key: (Item) -> String) -> Page<Item> {
        guard rows.count > limit, limit > 0 else { return Page(items: Array(rows.prefix(max(limit, 0))), next: nil) }
        let items = Array(rows.prefix(limit))
        return Page(items: items, next: key(items[items.count - 1]))
    }
}
