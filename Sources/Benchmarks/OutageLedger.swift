import Foundation

/// What the writers of `huifang bench outage` saw, request by request, labelled with the phase of the
/// fault timeline it started in; and which writes were acknowledged. Shared by the writer tasks.
final class OutageLedger: @unchecked Sendable {
    struct Entry: Sendable {
        var phase: String
        var answer: HTTPAnswer
    }

    private let lock = NSLock()
    private var currentPhase = "steady"
    private var stopped = false
    private var entries: [Entry] = []
    private var acknowledgedMarkers: [String] = []
    private var saidCommittedMarkers: [String] = []

    var phase: String {
        get { lock.withLock { currentPhase } }
        set { lock.withLock { currentPhase = newValue } }
    }

    var isStopped: Bool { lock.withLock { stopped } }
    func stop() { lock.withLock { stopped = true } }

    func record(_ answer: HTTPAnswer, phase: String) {
        lock.withLock { entries.append(Entry(phase: phase, answer: answer)) }
    }

    func acknowledge(_ marker: String) {
        lock.withLock { acknowledgedMarkers.append(marker) }
    }

    /// A write answered 409 idempotency-key-in-progress: the server says its effect committed but
    /// its response was not stored, so a repeat cannot replay it.
    func saidCommitted(_ marker: String) {
        lock.withLock { saidCommittedMarkers.append(marker) }
    }

    var snapshot: (entries: [Entry], acknowledged: [String], saidCommitted: [String]) {
        lock.withLock { (entries, acknowledgedMarkers, saidCommittedMarkers) }
    }
}

/// One writer of `huifang bench outage`: raises problems one after another, each with a marker in its
/// description and a fresh Idempotency-Key, repeating a write with the same key and body until it is
/// answered with 2xx or 4xx (503, outcome-unknown, no answer: again, after a pause). A 409
/// idempotency-key-in-progress ends the write too: the server says it committed without a stored answer.
struct OutageWriter: Sendable {
    var number: Int
    var client: BenchHTTPClient
    var token: String
    var clientIds: [Int64]
    var ledger: OutageLedger
    var timeout: Duration
    var pause: Duration = .milliseconds(100)

    static let markerPrefix = "bench-outage"

    private struct RaiseProblem: Encodable {
        var clientId: Int64
        var category: String
        var severity: String
        var description: String
    }

    func run() async {
        var sequence = 0
        while !ledger.isStopped {
            sequence += 1
            let marker = "\(Self.markerPrefix) w\(number) #\(sequence)"
            let json = try! JSONEncoder().encode(
                RaiseProblem(clientId: clientIds[sequence % clientIds.count], category: "service_need", severity: "low", description: marker))
            let key = UUID().uuidString
            while !ledger.isStopped {
                let phase = ledger.phase
                let answer = await client.send(
                    "POST", "/problems", token: token, json: json, headers: ["Idempotency-Key": key], timeout: timeout)
                ledger.record(answer, phase: phase)
                if answer.succeeded {
                    ledger.acknowledge(marker)
                    break
                }
                if let status = answer.status, (400..<500).contains(status) {
                    if status == 409, answer.problemType?.hasSuffix("/idempotency-key-in-progress") == true { ledger.saidCommitted(marker) }
                    break
                }
                try? await Task.sleep(for: pause)
            }
        }
    }
}
