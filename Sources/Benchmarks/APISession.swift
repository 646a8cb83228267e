import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Postgres

/// One request kind's figures: HTTP, and pgbench replaying what it sent.
struct APIRow: Sendable {
    enum Kind: Sendable { case simpleRead, read, write }

    var name: String
    var kind: Kind
    var http: LoadResult
    var replay: PgbenchReplay
    var pgbench: Pgbench.Result?
    var pgbenchFailure: String?
}

/// The phases of `huifang bench api`, in the order the writes feed each other: raised problems are
/// approved (untimed) and claimed, claimed ones forwarded (untimed) and answered; drafted records
/// (untimed) are submitted, submitted ones countersigned.
struct APISession: Sendable {
    let load: LoadRun
    let capture: StatementCapture
    let preparation: APIPreparation
    let cast: APICast
    let tokens: APITokens
    let seconds: Int
    let poolSize: Int
    let application: ConnectionConfiguration
    /// Where each request's pgbench script and variables are written, when given.
    let scriptsDirectory: URL?
    /// Round trips the server counted for each captured request (`huifang_db_round_trips` before and after).
    let serverRoundTrips = NIOLockedValueBox<[String: Int]>([:])

    private var lanes: Int { cast.branches.count }

    func reads() async throws -> [APIRow] {
        let cast = self.cast, tokens = self.tokens, lanes = self.lanes
        let kinds: [(name: String, kind: APIRow.Kind, request: @Sendable (Int) -> LoadRequest)] = [
            ("GET /me", .simpleRead, { APIRequests.me(tokens.opsDirector[$0 % lanes]) }),
            ("GET /clients/{id}", .simpleRead, { connection in
                let clients = cast.branches[connection % lanes].clients
                return APIRequests.client(clients[connection / lanes % clients.count], tokens.opsDirector[connection % lanes])
            }),
            ("GET /problems?queue=triage (HQ)", .read, { _ in APIRequests.triageQueue(tokens.triage) }),
            ("GET /tasks?mine=true", .read, { APIRequests.myTasks(tokens.responsible[$0 % lanes]) }),
        ]
        let captured = try await capture.capture(kinds.map { kind in (kind.name, { @Sendable in _ = try await self.sendOnce(kind.request(0)) }) })
        var rows: [APIRow] = []
        for kind in kinds {
            _ = try await load.run(for: .seconds(1), next: kind.request)  // warm-up: connections, prepared statements, caches
            let http = try await load.run(for: .seconds(seconds), next: kind.request)
            rows.append(replayed(kind.name, kind.kind, http, PgbenchReplay(captured[kind.name] ?? [], rollback: false)))
        }
        return rows
    }

    func writes() async throws -> [APIRow] {
        let tokens = self.tokens, lanes = self.lanes
        let raised = WorkSink()
        var rows = [try await raise(into: raised)]

        let drafts = try await draftRecords(raised.all.count * 3 / 2 + 2 * (1 + poolSize))
        let submitted = WorkSink()
        rows.append(try await write(
            "POST /records/{id}/submit", WorkQueue(lanes: lanes, drafts), lanes: lanes,
            request: { APIRequests.submit($0, tokens.responsible[$0.branch]) }, produced: (submitted, AnswerIds.object)))
        rows.append(try await write(
            "POST /records/{id}/countersign", WorkQueue(lanes: lanes, submitted.all), lanes: lanes,
            request: { APIRequests.countersign($0, tokens.opsDirector[$0.branch]) }, produced: nil))

        let claimed = WorkSink()
        rows.append(try await write(
            "POST /problems/{id}/claim (HQ)", WorkQueue(lanes: 1, try await preparation.approve(raised.all)), lanes: 1,
            request: { APIRequests.claim($0, tokens.triage) }, produced: (claimed, AnswerIds.problem)))
        rows.append(try await write(
            "POST /forwardings/{id}/answer", WorkQueue(lanes: 1, try await preparation.forward(claimed.all)), lanes: 1,
            request: { APIRequests.answer($0, tokens.functional) }, produced: nil))
        return rows
    }

    /// Raises with one writer in one branch, then one writer in each of `branches` branches.
    func scaling(branches: Int) async throws -> (one: LoadResult, many: LoadResult) {
        var single = load, spread = load
        single.connections = 1
        spread.connections = branches
        let one = try await single.run(for: .seconds(seconds), next: raiseRequest)
        let many = try await spread.run(for: .seconds(seconds), next: raiseRequest)
        return (one, many)
    }

    // MARK: - Writes

    private var raiseRequest: @Sendable (Int) -> LoadRequest {
        let cast = self.cast, tokens = self.tokens, lanes = self.lanes
        return { connection in
            let clients = cast.branches[connection % lanes].clients
            return APIRequests.raise(client: clients.randomElement()!, tokens.responsible[connection % lanes])
        }
    }

    /// POST /problems: nothing to prepare; every raised problem goes on to be claimed.
    private func raise(into raised: WorkSink) async throws -> APIRow {
        let name = "POST /problems (raise)", lanes = self.lanes
        let statements = try await captureOne(name, raiseRequest(0)) { answer in
            AnswerIds.problem(answer).map { raised.add(WorkItem(branch: 0, id: $0)) }
        }
        let http = try await load.run(for: .seconds(seconds), next: raiseRequest) { connection, _, answer in
            AnswerIds.problem(answer).map { raised.add(WorkItem(branch: connection % lanes, id: $0)) }
        }
        return replayed(name, .write, http, PgbenchReplay(statements, rollback: true))
    }

    /// A step on prepared objects: one captured, one for each pgbench client, the rest for HTTP.
    private func write(
        _ name: String, _ queue: WorkQueue, lanes: Int, request: @escaping @Sendable (WorkItem) -> LoadRequest,
        produced: (sink: WorkSink, id: @Sendable (LoadAnswer) -> Int64?)?
    ) async throws -> APIRow {
        let reserved = queue.reserve(1 + poolSize, lane: 0)
        guard reserved.count == 1 + poolSize else {
            throw BenchmarkError("\(name): \(reserved.count) objects prepared in one branch, \(1 + poolSize) needed before the phase")
        }
        let captured = reserved[0], replays = Array(reserved.dropFirst())
        let statements = try await captureOne(name, request(captured)) { answer in
            if let produced, let id = produced.id(answer) { produced.sink.add(WorkItem(branch: captured.branch, id: id)) }
        }
        var rebind = [PgbenchReplay.Rebinding(captured: String(captured.id), perClient: replays.map(\.id))]
        if let problem = captured.problemId {
            rebind.append(.init(captured: String(problem), perClient: replays.compactMap(\.problemId)))
        }
        let http = try await load.run(for: .seconds(seconds), next: { queue.take(lane: $0 % lanes).map(request) }) { connection, _, answer in
            if let produced, let id = produced.id(answer) { produced.sink.add(WorkItem(branch: connection % lanes, id: id)) }
        }
        return replayed(name, .write, http, PgbenchReplay(statements, rollback: true, rebind: rebind))
    }

    /// Drafts `count` records, spread over the branches' responsible persons (untimed).
    private func draftRecords(_ count: Int) async throws -> [WorkItem] {
        let cast = self.cast, tokens = self.tokens, lanes = self.lanes
        let issued = Counter(), drafts = WorkSink(), contactedAt = APIRequests.shanghaiNow()
        let result = try await load.run(for: .seconds(3600), next: { connection in
            let number = issued.next()
            guard number < count else { return nil }
            let clients = cast.branches[connection % lanes].clients
            return APIRequests.draftRecord(client: clients[number % clients.count], tokens.responsible[connection % lanes], contactedAt: contactedAt)
        }) { connection, _, answer in
            AnswerIds.object(answer).map { drafts.add(WorkItem(branch: connection % lanes, id: $0)) }
        }
        guard result.succeeded >= result.failed else {
            throw BenchmarkError("drafting records failed: \(result.failed) of \(count); first: \(result.firstFailure ?? "?")")
        }
        return drafts.all
    }

    // MARK: - Capture and replay

    private func captureOne(
        _ name: String, _ request: LoadRequest, _ answered: @escaping @Sendable (LoadAnswer) -> Void
    ) async throws -> [LoggedStatement] {
        // The counter is read outside the capture: reading /metrics runs the delivery gauges'
        // transaction, which would otherwise be captured in the middle of the request's statements
        // (and its COMMIT taken for the request's). Reading it twice first says what one read costs.
        let first = try await serverRoundTripCount()
        let before = try await serverRoundTripCount()
        let captured = try await capture.capture([(name, { @Sendable in answered(try await self.sendOnce(request)) })])
        let after = try await serverRoundTripCount()
        if let first, let before, let after {
            serverRoundTrips.withLockedValue { $0[name] = (after - before) - (before - first) }
        }
        return captured[name] ?? []
    }

    /// The server's `huifang_db_round_trips` from `/metrics`; nil when it does not report them.
    private func serverRoundTripCount() async throws -> Int? {
        let answer = try await sendOnce(LoadRequest(method: .GET, path: "/metrics", token: nil, json: nil, ifMatch: nil))
        let line = String(buffer: answer.body).split(separator: "\n").first { $0.hasPrefix("huifang_db_round_trips ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) }
    }

    /// One request on a connection of its own; a failure is an error (the capture would be of an error path).
    private func sendOnce(_ request: LoadRequest) async throws -> LoadAnswer {
        let answer = try await LoadConnection.with(host: load.host, port: load.port, group: load.group) { try await $0.send(request) }
        guard answer.succeeded else {
            throw BenchmarkError("\(request.method) \(request.path) answered \(answer.status): \(String(buffer: answer.body).prefix(300))")
        }
        return answer
    }

    private func replayed(_ name: String, _ kind: APIRow.Kind, _ http: LoadResult, _ replay: PgbenchReplay) -> APIRow {
        var row = APIRow(name: name, kind: kind, http: http, replay: replay)
        // The log has one entry per statement, pipelined or not; the server knows how many it waited for.
        if let trips = serverRoundTrips.withLockedValue({ $0[name] }) { row.replay.roundTrips = trips }
        if let scriptsDirectory {
            let file = String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" })
            try? replay.script.write(to: scriptsDirectory.appendingPathComponent(file + ".pgbench"), atomically: true, encoding: .utf8)
            let arguments = replay.variables.sorted { $0.key < $1.key }.map { "-D \($0.key)=\(SQL.literal($0.value))" }
            try? arguments.joined(separator: "\n").write(
                to: scriptsDirectory.appendingPathComponent(file + ".variables"), atomically: true, encoding: .utf8)
        }
        if replay.roundTrips == 0 {
            row.pgbenchFailure = "no statement captured"
        } else if let why = replay.unreplayable {
            row.pgbenchFailure = why
        } else {
            do {
                row.pgbench = try Pgbench.run(
                    script: replay.script, conninfo: application.conninfo, environment: application.toolEnvironment(),
                    variables: replay.variables, clients: poolSize, seconds: seconds)
            } catch {
                row.pgbenchFailure = "\(error)"
            }
        }
        return row
    }
}

/// Numbers handed out once each, across connections.
final class Counter: Sendable {
    private let value = NIOLockedValueBox(0)
    func next() -> Int {
        value.withLockedValue { value in
            defer { value += 1 }
            return value
        }
    }
}
