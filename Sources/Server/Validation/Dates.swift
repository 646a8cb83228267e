import Foundation
import Postgres
import Store

/// Calendar dates as the API writes them (`2026-11-25`), and "today" in Asia/Shanghai.
enum Dates {
    static func parse(_ text: String) -> PostgresDate? {
        guard text.count == 10, let date = PostgresDate(text), date.isValid else { return nil }
        return date
    }

    /// The Asia/Shanghai (UTC+8, no daylight saving) calendar date of an instant.
    static func shanghai(_ instant: Date) -> PostgresDate {
        PostgresDate.shanghai(instant)
    }
}
