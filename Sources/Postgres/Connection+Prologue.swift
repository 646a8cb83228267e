import CLibPQ

/// A transaction's opening statements (BEGIN, its scope) travel with its first statement in one
/// round trip, through libpq's pipeline mode, instead of one round trip each.
extension Connection {
    /// Statements to send ahead of the next one, in the same round trip. Until then nothing of them
    /// has reached the server; `hasBegun` says when their results came back.
    func sendAhead(_ statements: [SQL]) {
        prologue = statements
        hasBegun = false
    }

    /// Forgets the statements not yet sent: the transaction never started on the server.
    func dropPrologue() {
        prologue = []
        epilogue = []
    }

    /// Sends `statement` with the transaction's COMMIT, in one round trip, instead of now: for a
    /// statement whose result nobody reads and which holds a lock others wait for until COMMIT —
    /// the audit chain's append — so that lock is held for that one round trip only. Its error is
    /// the commit's.
    public func sendWithCommit(_ statement: SQL) {
        epilogue.append(statement)
    }

    /// Whether opening statements wait for a first statement to travel with.
    var hasUnsentPrologue: Bool { !prologue.isEmpty }

    /// Sends what waits to be sent ahead, alone: before a script or a COPY, which cannot join a pipeline.
    func sendPrologueBlocking() throws {
        guard !prologue.isEmpty else { return }
        _ = try executePipelinedBlocking([])
    }

    /// The prologue, then `statements`, in one pipeline ended by one Sync: the last statement's
    /// result (or the first error met). The prologue is gone afterwards, sent or failed.
    func executePipelinedBlocking(_ statements: [SQL]) throws -> QueryResult? {
        try executePipelinedAllBlocking(statements).last
    }

    /// As `executePipelinedBlocking`, with the result of each of `statements` (the prologue's left
    /// out), in order.
    func executePipelinedAllBlocking(_ statements: [SQL]) throws -> [QueryResult] {
        let ahead = prologue.count
        let all = prologue + statements
        prologue = []
        try makeRoomForPreparedStatements(all.count)
        // Preparing is a round trip of its own, once per connection and statement text.
        let names = try all.map { $0.parameters.isEmpty ? nil : try preparedStatementName(for: $0) }
        guard PQenterPipelineMode(rawHandle) == 1 else { throw connectionError() }
        defer { _ = PQexitPipelineMode(rawHandle) }
        for (statement, name) in zip(all, names) {
            let sent = withCStrings(statement.parameters) { values in
                if let name {
                    return PQsendQueryPrepared(rawHandle, name, Int32(statement.parameters.count), values, nil, nil, 0)
                }
                return PQsendQueryParams(rawHandle, statement.text, 0, nil, nil, nil, nil, 0)
            }
            guard sent == 1 else { throw connectionError() }
        }
        guard PQpipelineSync(rawHandle) == 1 else { throw connectionError() }
        countRoundTrip()
        var firstError: (any Error)?
        var results: [QueryResult] = []
        for (index, statement) in all.enumerated() {
            let result = PQgetResult(rawHandle)
            if let result, PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
            } else {
                do {
                    let checked = try check(result)
                    if index >= ahead { results.append(checked) }
                    if index == 0 { hasBegun = true }
                } catch let error as PostgresError {
                    if error.isCachedPlanChanged { forgetPreparedStatement(statement) }
                    if firstError == nil { firstError = error }
                    if result == nil { throw error }  // the connection broke: nothing more will come
                }
            }
            // Each statement's results end with a null.
            while let extra = PQgetResult(rawHandle) {
                if PQresultStatus(extra) == PGRES_PIPELINE_SYNC {
                    PQclear(extra)
                    throw firstError ?? PostgresError(kind: .client, message: "the pipeline ended early")
                }
                PQclear(extra)
            }
        }
        guard let sync = PQgetResult(rawHandle) else { throw firstError ?? connectionError() }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        if let firstError { throw firstError }
        guard synced else { throw PostgresError(kind: .client, message: "the pipeline did not end with its Sync") }
        return results
    }
}
