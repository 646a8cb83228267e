import Foundation
import Postgres

/// Calendar dates as the API writes them (`2026-11-25`).
enum Dates {
    static func parse(_ text: String) -> PostgresDate? {
        guard text.count == 10, let date = PostgresDate(text), date.isValid else { return nil }
        return date
    }
}
