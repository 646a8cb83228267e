import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// An object a write request acts on: a problem, a record or a forwarding, with the ETag its step
/// names and the branch (index into the cast) whose people act on it.
struct WorkItem: Sendable, Equatable {
    var branch: Int
    var id: Int64
    var etag: String?
    /// A forwarding's problem.
    var problemId: Int64?
}

/// Fresh objects for one kind of write, per lane (a branch's writers, or one lane for HQ), handed
/// out once each.
final class WorkQueue: Sendable {
    private let lanes: NIOLockedValueBox<[[WorkItem]]>

    init(lanes: Int, _ items: [WorkItem] = [], lane: (WorkItem) -> Int = { $0.branch }) {
        var filled = Array(repeating: [WorkItem](), count: lanes)
        for item in items { filled[lane(item) % lanes].append(item) }
        self.lanes = NIOLockedValueBox(filled.map { $0.reversed() })
    }

    func take(lane: Int) -> WorkItem? {
        lanes.withLockedValue { lanes in lanes[lane % lanes.count].popLast() }
    }

    /// `count` items of the branch of the first one taken from `lane`: the request captured and the
    /// objects of pgbench's clients, which must differ from it only in their ids.
    func reserve(_ count: Int, lane: Int) -> [WorkItem] {
        lanes.withLockedValue { lanes in
            let index = lane % lanes.count
            guard let first = lanes[index].last else { return [] }
            let picked = Array(lanes[index].reversed().filter { $0.branch == first.branch }.prefix(count))
            lanes[index].removeAll { item in picked.contains(item) }
            return picked
        }
    }

    var count: Int { lanes.withLockedValue { $0.reduce(0) { $0 + $1.count } } }
}

/// Collects what a phase produced, for the next one.
final class WorkSink: Sendable {
    private let items = NIOLockedValueBox<[WorkItem]>([])
    func add(_ item: WorkItem) { items.withLockedValue { $0.append(item) } }
    var all: [WorkItem] { items.withLockedValue { $0 } }
}

/// The ids in an answer: a problem step's `problem.id`, or a record's `id`.
enum AnswerIds {
    private struct ProblemStep: Decodable {
        struct Problem: Decodable { var id: Int64 }
        var problem: Problem
    }

    private struct Identified: Decodable { var id: Int64 }

    static func problem(_ answer: LoadAnswer) -> Int64? {
        try? JSONDecoder().decode(ProblemStep.self, from: Data(answer.body.readableBytesView)).problem.id
    }

    static func object(_ answer: LoadAnswer) -> Int64? {
        try? JSONDecoder().decode(Identified.self, from: Data(answer.body.readableBytesView)).id
    }
}
