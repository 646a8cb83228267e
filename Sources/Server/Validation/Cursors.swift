import Store

/// Keyset cursors from the `after` query parameter; a cursor this server did not make is a 422.
enum Cursors {
    /// The last (branch, id) of the previous page, for lists ordered by branch then id.
    static func branchAndID(_ text: String?) throws -> (branch: Int, id: Int64)? {
        try text.map { text in
            guard let parts = Cursor.decode(text, parts: 2), let branch = Int(exactly: parts[0]) else { throw AppError.badCursor }
            return (branch, parts[1])
        }
    }

    /// The last (due time in microseconds, branch, id) of the previous page, for task queues.
    static func dueBranchAndID(_ text: String?) throws -> (dueMicros: Int64, branch: Int, id: Int64)? {
        try text.map { text in
            guard let parts = Cursor.decode(text, parts: 3), let branch = Int(exactly: parts[1]) else { throw AppError.badCursor }
            return (parts[0], branch, parts[2])
        }
    }

    /// The last (time in microseconds, id) of the previous page, for lists ordered by time then id.
    static func timeAndID(_ text: String?) throws -> (micros: Int64, id: Int64)? {
        try text.map { text in
            guard let parts = Cursor.decode(text, parts: 2) else { throw AppError.badCursor }
            return (parts[0], parts[1])
        }
    }

    /// The last id of the previous page, for lists ordered by id.
    static func id(_ text: String?) throws -> Int64? {
        try text.map { text in
            guard let parts = Cursor.decode(text, parts: 1) else { throw AppError.badCursor }
            return parts[0]
        }
    }

    /// Page size from `limit`: 1–500, 100 when absent.
    static func limit(_ value: Int32?) throws -> Int {
        guard let value else { return 100 }
        guard (1...500).contains(value) else {
            throw AppError.invalid([.init("limit", "must be from 1 to 500")])
        }
        return Int(value)
    }
}
