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

/// Polls `condition` until it holds; fails the test after a minute.
public func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
    for _ in 0..<6000 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw WaitedTooLong(condition: what)
}

public struct WaitedTooLong: Error {
    public var condition: String
}


/// Polls until exactly `count` statements of this test's database wait for a lock on `table`
/// (which the test holds). The cluster runs many test databases at once, and a table cloned from
/// the template has the same oid in each: the database is part of the question.
public func waitUntilWaiting(_ pool: Pool, forLockOn table: String, count: Int = 1) async throws {
    try await waitUntil(
        pool,
        """
        select count(*) = \(count) from pg_locks
        where database = (select oid from pg_database where datname = current_database())
          and relation = \(table)::regclass and not granted
        """)
}
