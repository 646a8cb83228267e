import Foundation
import Postgres

extension PostgresDate {
    /// The Asia/Shanghai (UTC+8, no daylight saving) calendar date of an instant: the date every
    /// deadline is counted from (BRIEF §3).
    public static func shanghai(_ instant: Date) -> PostgresDate {
        let days = ((instant.timeIntervalSince1970 + 8 * 3600) / 86400).rounded(.down)
        return PostgresDate(daysSinceEpoch: Int64(days))
    }
}
