import API
import Domain
import Foundation

/// What waits for the signed-in person, counted for the navigation: their callback tasks and
/// records to sign, records to countersign, problems at their step, forwardings in their inbox.
struct NavCounts: Sendable {
    var work = 0
    var records = 0
    var problems = 0
    var inbox = 0

    static func load(_ visit: Visit) async throws -> NavCounts {
        let api = visit.console.api
        async let tasks: Int = visit.can(.workTasks)
            ? try await api.listTasks(query: .init(mine: true, state: .active, limit: 100)).ok.body.json.items.count : 0
        async let toSign: Int = visit.can(.signRecords)
            ? try await api.listRecords(query: .init(awaitingMySignature: true, limit: 100)).ok.body.json.items.count : 0
        async let problems: Int = visit.can(.readProblems) && !visit.principal.isFunctionalOnly
            ? try await Self.problemsWaiting(visit) : 0
        async let inbox: Int = visit.can(.answerForwardings)
            ? try await api.listForwardings(query: .init(limit: 100)).ok.body.json.items.count : 0
        var counts = NavCounts()
        counts.records = try await toSign
        counts.problems = try await problems
        counts.inbox = try await inbox
        counts.work = try await tasks + counts.records + counts.problems + counts.inbox
        return counts
    }

    /// Problems at a step the person takes: an HQ department's unclaimed, own and to-relay; a
    /// branch leader's to approve; a raiser's asked for information.
    static func problemsWaiting(_ visit: Visit) async throws -> Int {
        let hq = visit.can(.triageProblems)
        let counts = try await visit.console.api.countProblems(query: .init(queue: hq ? .triage : .branch)).ok.body.json
        if hq { return Int(counts.unclaimed + counts.mine + counts.toRelay) }
        return Int((visit.can(.approveProblems) ? counts.raised : 0) + counts.infoRequested)
    }
}
