import Postgres

/// Polls `condition` (a query returning one boolean) until it holds; fails the test after a minute.
public func waitUntil(_ pool: Pool, _ condition: SQL) async throws {
    for _ in 0..<6000 {
        if try await pool.query(condition).single().decode(0, as: Bool.self) { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw WaitedTooLong(condition: condition.text)
}

/// Polls `query` until it returns a row, and returns its first column.
public func waitUntilFound(_ pool: Pool, _ query: SQL) async throws -> Int32 {
    for _ in 0..<6000 {
        if let row = try await pool.query(query).first { return try row.decode(0, as: Int32.self) }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw WaitedTooLong(condition: query.text)
}

public struct WaitedTooLong: Error {
    public var condition: String
}

