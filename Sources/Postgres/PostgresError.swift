/// An error from PostgreSQL or from libpq, carrying the SQLSTATE when the server sent one.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server rejected a statement; `sqlState` says why.
        case server
        /// The connection could not be opened or was lost.
        case connection
        /// libpq or this module refused something before it reached the server.
        case client
        /// A value could not be decoded into the requested Swift type.
        case decoding
    }

    public var kind: Kind
    /// Five-character SQLSTATE code, e.g. `23505`.
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    public var table: String?
    public var column: String?

    public init(
        kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil,
        constraint: String? = nil, table: String? = nil, column: String? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
    }

    public var description: String {
        var text = sqlState.map { "[\($0)] \(message)" } ?? message
        if let detail { text += " (\(detail))" }
        if let constraint { text += " [constraint \(constraint)]" }
        return text
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isForeignKeyViolation: Bool { sqlState == "23503" }
    public var isCheckViolation: Bool { sqlState == "23514" }
    public var isSerializationFailure: Bool { sqlState == "40001" }
    public var isDeadlock: Bool { sqlState == "40P01" }
    /// Worth running the whole transaction again: the server aborted it only because of a concurrent one.
    public var isTransient: Bool { isSerializationFailure || isDeadlock }
    /// The statement ran out of time (`statement_timeout`, 57014) or waited too long for a lock
    /// (`lock_timeout`, 55P03); the connection is fine.
    public var isTimeout: Bool { sqlState == "57014" || sqlState == "55P03" }
    /// A prepared statement's result type changed under it (a migration altered its table).
    public var isCachedPlanChanged: Bool { sqlState == "0A000" && message.contains("cached plan must not change result type") }

    /// SQLSTATE `transaction_resolution_unknown`: the connection died after COMMIT was sent.
    public static let outcomeUnknownState = "08007"
    /// COMMIT was sent and no answer came back: the transaction may have committed. Never retry it
    /// blindly, never tell a client to.
    public var isOutcomeUnknown: Bool { sqlState == Self.outcomeUnknownState }

    /// The connection is gone (server restart, network, admin shutdown); the statement may not have run.
    public var isConnectionLoss: Bool {
        if kind == .connection { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03"
    }
}
