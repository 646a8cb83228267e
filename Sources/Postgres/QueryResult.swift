import CLibPQ

/// Owns a `PGresult` and clears it when the last row referring to it is gone.
final class ResultStorage: @unchecked Sendable {
    // PGresult is immutable once returned by libpq, so reading it from any thread is safe.
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        PQclear(pointer)
    }
}

/// The rows a statement returned, decoded lazily from libpq's result.
public struct QueryResult: Sendable, RandomAccessCollection {
    let storage: ResultStorage?
    public let count: Int

    init(storage: ResultStorage?) {
        self.storage = storage
        self.count = storage.map { Int(PQntuples($0.pointer)) } ?? 0
    }

    /// Rows inserted, updated, deleted, copied … as the command tag says (0 when it says nothing).
    public var affectedRows: Int {
        guard let storage else { return 0 }
        return Int(String(cString: PQcmdTuples(storage.pointer))) ?? 0
    }

    /// The command tag: `INSERT 0 1`, `COMMIT`, or `ROLLBACK` for a COMMIT of a failed transaction.
    public var commandTag: String {
        guard let storage else { return "" }
        return String(cString: PQcmdStatus(storage.pointer))
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> Row {
        Row(storage: storage!, index: Int32(position))
    }

    public var columnNames: [String] {
        guard let storage else { return [] }
        return (0..<PQnfields(storage.pointer)).map { String(cString: PQfname(storage.pointer, $0)) }
    }

    /// The only row, or an error naming how many there were.
    public func single() throws -> Row {
        guard count == 1 else {
            throw PostgresError(kind: .client, message: "expected exactly one row, got \(count)")
        }
        return self[0]
    }
}

/// One row of a `QueryResult`.
public struct Row: Sendable {
    let storage: ResultStorage
    let index: Int32

    public var columnCount: Int { Int(PQnfields(storage.pointer)) }

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        guard column >= 0, column < columnCount else {
            throw PostgresError(kind: .decoding, message: "no column \(column); the row has \(columnCount)")
        }
        let field = Int32(column)
        if PQgetisnull(storage.pointer, index, field) == 1 { return try T.decodeNull() }
        let text = String(cString: PQgetvalue(storage.pointer, index, field))
        do {
            return try T(postgresText: text)
        } catch var error as PostgresError {
            error.column = String(cString: PQfname(storage.pointer, field))
            error.message += " in column \(error.column!)"
            throw error
        }
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        let number = column.withCString { PQfnumber(storage.pointer, $0) }
        guard number >= 0 else {
            throw PostgresError(kind: .decoding, message: "no column named \(column) in the result")
        }
        return try decode(Int(number), as: T.self)
    }

    /// NULL check without decoding.
    public func isNull(_ column: Int) -> Bool {
        PQgetisnull(storage.pointer, index, Int32(column)) == 1
    }
}
