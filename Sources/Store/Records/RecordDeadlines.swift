import Foundation
import Postgres

/// The record deadlines that start by the calendar rather than by a person: each month's upload
/// (Art 15) opens when the month ends, and a directive's feedback package (Art 14) when its
/// date passes. Both are idempotent; the scheduler runs them every round.
public enum RecordDeadlines {
    public struct Outcome: Sendable, Equatable {
        public var uploadsOpened: Int
        public var feedbackPackagesOpened: Int
    }

    /// The upload of the month before `today`'s (Asia/Shanghai), and feedback for directives past their date.
    public static func open(pool: Pool, today: PostgresDate) async throws -> Outcome {
        let previous = today.month == 1 ? (today.year - 1, 12) : (today.year, today.month - 1)
        let month = String(format: "%04d-%02d", previous.0, previous.1)
        return try await pool.transaction(settings: ObligationGenerator.settings) { db in
            Outcome(
                uploadsOpened: try await RecordUploadStore(db).open(month: month),
                feedbackPackagesOpened: try await DirectiveFeedbackStore(db).endDueDirectives())
        }
    }
}
