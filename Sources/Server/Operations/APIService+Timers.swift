import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listTimers(_ input: Operations.ListTimers.Input) async throws -> Operations.ListTimers.Output {
        let access = try authorize(.readDeadlines)
        let query = input.query
        let after = try Cursors.branchAndID(query.after)
        var filter = TimerQueries.Filter()
        filter.branchId = query.branchId.map(Int.init)
        filter.state = query.state?.rawValue
        filter.clock = query.clock
        filter.subjectKind = query.subjectKind
        filter.subjectId = query.subjectId
        filter.provisional = query.provisional
        let limit = try Cursors.limit(query.limit)
        let page = try await pool.transaction(for: access, readOnly: true) {
            try await TimerQueries($0).list(filter, branches: access.indexableBranches, after: after, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Timer.init), next: page.next))))
    }
}

extension Components.Schemas.Timer {
    init(_ timer: TimerView) {
        self.init(
            id: timer.id, branchId: Int32(timer.branchId), subjectKind: timer.subjectKind, subjectId: timer.subjectId,
            clock: timer.clock, calendar: timer.calendar, title: timer.title, startedAt: timer.startedAt,
            workdays: Int32(timer.workdays), dueAt: timer.dueAt, provisional: timer.provisional,
            state: .init(rawValue: timer.state) ?? .running, nextStageAt: timer.nextFireAt,
            stages: zip(timer.stageNames, timer.stageAt).map { .init(stage: $0, at: $1) }, firedStages: timer.firedStages,
            stoppedAt: timer.stoppedAt, stopReason: timer.stopReason)
    }
}
