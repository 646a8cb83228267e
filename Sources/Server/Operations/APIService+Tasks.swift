import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listTasks(_ input: Operations.ListTasks.Input) async throws -> Operations.ListTasks.Output {
        let access = try authorize(.readTasks)
        let query = input.query
        var filter = TaskStore.Filter()
        if access.isDepartmentOnly { filter.executorDepartmentIds = access.departmentIds }
        filter.callCenterOnly = query.queue == .callCenter
        filter.branchId = query.branchId.map(Int.init)
        filter.assigneeStaffId = query.mine == true ? access.staffId : query.assigneeStaffId
        filter.ruleCode = query.ruleCode?.rawValue
        filter.directiveId = query.directiveId
        filter.clientId = query.clientId
        filter.dueBefore = query.dueBefore
        switch query.state {
        case nil: break
        case .active: filter.states = [.open, .assigned, .inProgress]
        case .closed: filter.states = [.completed, .unreachable, .cancelled]
        case .some(let state): filter.states = [TaskState(rawValue: state.rawValue)!]
        }
        if query.overdue == true {
            filter.states = (filter.states ?? TaskState.allCases).filter { !$0.isClosed }
            filter.dueBefore = min(filter.dueBefore ?? .distantFuture, now())
        }
        let after = try Cursors.dueBranchAndID(query.after)
        let limit = try Cursors.limit(query.limit)
        let page = try await pool.transaction(for: access, readOnly: true) {
            try await TaskStore($0).list(filter, branches: access.taskBranches, after: after, limit: limit)
        }
        let now = now()
        return .ok(.init(body: .json(.init(items: page.items.map { .init($0, now: now) }, next: page.next))))
    }

    func getTask(_ input: Operations.GetTask.Input) async throws -> Operations.GetTask.Output {
        let access = try authorize(.readTasks)
        let task = try await pool.transaction(for: access, readOnly: true) {
            try await TaskStore($0).get(input.path.taskId, branches: access.taskBranches)
        }
        guard let task else { throw AppError.notFound("task") }
        return .ok(.init(body: .json(.init(task, now: now()))))
    }

    func explainTask(_ input: Operations.ExplainTask.Input) async throws -> Operations.ExplainTask.Output {
        let access = try authorize(.readTasks)
        let explanation = try await pool.transaction(for: access, readOnly: true) {
            try await TaskExplanation.load($0, taskId: input.path.taskId, branches: access.taskBranches)
        }
        guard let explanation else { throw AppError.notFound("task") }
        return .ok(.init(body: .json(.init(explanation))))
    }

    func assignTask(_ input: Operations.AssignTask.Input) async throws -> Operations.AssignTask.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let task = try await changeTask(input.path.taskId, as: .manageTasks, step: .assign, audit: "task.assigned",
                                        detail: ["staffId": String(body.staffId)]) { store, task, actor in
            try await store.assign(task, to: body.staffId, by: actor)
        }
        return .ok(.init(body: .json(task)))
    }

    func startTask(_ input: Operations.StartTask.Input) async throws -> Operations.StartTask.Output {
        let task = try await changeTask(input.path.taskId, as: .workTasks, step: .start, audit: "task.started") { store, task, _ in
            try await store.start(task)
        }
        return .ok(.init(body: .json(task)))
    }

    func closeTaskUnreachable(_ input: Operations.CloseTaskUnreachable.Input) async throws -> Operations.CloseTaskUnreachable.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.reason(body.reason))
        let task = try await changeTask(
            input.path.taskId, as: .workTasks, step: .closeUnreachable, audit: "task.unreachable", reason: body.reason
        ) { store, task, actor in
            guard task.failedAttemptDays >= unreachableAfterFailedDays else {
                throw AppError.conflict(
                    "a task is closed as unreachable only after failed attempts on \(unreachableAfterFailedDays) different days, "
                        + "each logged by the end of the next working day; this one has \(task.failedAttemptDays)")
            }
            try await store.close(task, as: .unreachable, by: actor, reason: body.reason)
        }
        return .ok(.init(body: .json(task)))
    }

    func cancelTask(_ input: Operations.CancelTask.Input) async throws -> Operations.CancelTask.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.reason(body.reason))
        let task = try await changeTask(
            input.path.taskId, as: .manageTasks, step: .cancel, audit: "task.cancelled", reason: body.reason
        ) { store, task, actor in
            try await store.close(task, as: .cancelled, by: actor, reason: body.reason)
        }
        return .ok(.init(body: .json(task)))
    }

    func listTaskAttempts(_ input: Operations.ListTaskAttempts.Input) async throws -> Operations.ListTaskAttempts.Output {
        let access = try authorize(.readTasks)
        let attempts = try await pool.transaction(for: access, readOnly: true) { db -> [CallbackAttempt]? in
            let store = TaskStore(db)
            guard let task = try await store.get(input.path.taskId, branches: access.taskBranches) else { return nil }
            return try await store.attempts(of: task)
        }
        guard let attempts else { throw AppError.notFound("task") }
        return .ok(.init(body: .json(attempts.map(Components.Schemas.Attempt.init))))
    }

    func logTaskAttempt(_ input: Operations.LogTaskAttempt.Input) async throws -> Operations.LogTaskAttempt.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let at = body.attemptedAt ?? now()
        var problems = body.note.map { Validate.text($0, field: "note", max: 2000) } ?? []
        if at > now().addingTimeInterval(60) { problems.append(.init("attemptedAt", "must not be in the future")) }
        try Validate.throwing(problems)
        let access = try authorize(.workTasks)
        let attempt = try await pool.transaction(for: access) { db -> CallbackAttempt in
            let store = TaskStore(db)
            let task = try await workableTask(input.path.taskId, access: access, store: store, startingIt: true)
            guard task.state == .inProgress else { throw AppError.conflict("the task is \(task.state.rawValue)") }
            let attempt = try await store.logAttempt(
                task, by: access.staffId, at: at, channel: body.channel.rawValue, outcome: body.outcome.rawValue, note: body.note)
            try await AuditLog(db).record(
                action: "task.attempt_logged", objectType: "callback_task", objectId: String(task.id), branchId: task.branchId,
                detail: try JSONB(encoding: ["channel": body.channel.rawValue, "outcome": body.outcome.rawValue]))
            return attempt
        }
        return .created(.init(body: .json(.init(attempt))))
    }

    func bulkAssignTasks(_ input: Operations.BulkAssignTasks.Input) async throws -> Operations.BulkAssignTasks.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let access = try authorize(.manageTasks)
        let principal = try signedIn()
        let branch = Int(body.branchId)
        guard access.branchIds.contains(branch) else { throw AppError.forbidden(.manageTasks) }
        let outcome = try await pool.transaction(for: access) { db -> BulkAssignment.Outcome in
            let outcome: BulkAssignment.Outcome
            do {
                outcome = try await BulkAssignment(db).run(
                    branchId: branch, taskIds: body.taskIds, ruleCode: body.ruleCode?.rawValue, staffIds: body.staffIds,
                    actor: access.staffId, grants: principal.grants)
            } catch let error as BulkAssignmentError {
                throw AppError.invalid([.init("staffIds", error.description)])
            }
            try await AuditLog(db).record(
                action: "task.bulk_assigned", objectType: "branch", objectId: String(branch), branchId: branch,
                detail: try JSONB(encoding: ["assigned": outcome.assigned.count, "skipped": outcome.skipped.count]))
            return outcome
        }
        return .ok(.init(body: .json(.init(
            assigned: outcome.assigned.map { .init(taskId: $0.taskId, staffId: $0.staffId) },
            skipped: outcome.skipped.map { .init(taskId: $0.taskId, reason: $0.reason) }))))
    }

    // One step of a task's life: lock it, check who acts and that the step is allowed from its
    // state, apply, audit, and return it as it now is. The database checks the same again.
    private func changeTask(
        _ id: Int64, as action: Action, step: TaskAction, audit: String, reason: String? = nil, detail: [String: String] = [:],
        _ apply: @Sendable @escaping (TaskStore, CallbackTask, Int64) async throws -> Void
    ) async throws -> Components.Schemas.Task {
        let access = try authorize(action)
        let principal = try signedIn()
        let now = now()
        let task = try await pool.transaction(for: access) { db -> CallbackTask in
            let store = TaskStore(db)
            var task: CallbackTask
            if action == .workTasks {
                task = try await workableTask(id, access: access, store: store, startingIt: step != .start)
            } else {
                guard let found = try await store.get(id, branches: access.taskBranches, lock: true) else {
                    throw AppError.notFound("task")
                }
                task = found
                guard TaskAuthority.canManage(
                    ownerRole: task.ownerRole, branchId: task.branchId, ownerDepartmentId: task.ownerDepartmentId,
                    executorDepartmentId: task.executorDepartmentId, grants: principal.grants)
                else {
                    throw AppError.forbiddenBecause(action, "only the task's owner (\(task.ownerRole)) directs it")
                }
            }
            guard TaskTransitions.next(from: task.state, step) != nil else {
                throw AppError.conflict("a task that is \(task.state.rawValue) cannot \(step.rawValue)")
            }
            try await apply(store, task, access.staffId)
            try await AuditLog(db).record(
                action: audit, objectType: "callback_task", objectId: String(task.id), branchId: task.branchId, reason: reason,
                detail: try JSONB(encoding: detail))
            guard let changed = try await store.get(task.id, branches: [task.branchId]) else { throw AppError.notFound("task") }
            return changed
        }
        return .init(task, now: now)
    }

    /// The task, locked, when the caller is its assignee. `startingIt`: logging an attempt or the
    /// outcome of a callback starts a task that was only assigned.
    private func workableTask(_ id: Int64, access: Access, store: TaskStore, startingIt: Bool) async throws -> CallbackTask {
        guard var task = try await store.get(id, branches: access.taskBranches, lock: true) else { throw AppError.notFound("task") }
        guard task.assigneeStaffId == access.staffId else {
            throw AppError.forbiddenBecause(.workTasks, "only the person the task is assigned to works it")
        }
        if startingIt && task.state == .assigned {
            try await store.start(task)
            task.state = .inProgress
        }
        return task
    }
}

extension Access {
    /// A call center's scope: its department's work, no branch of its own.
    var isDepartmentOnly: Bool { !allBranches && branchIds.isEmpty && !departmentIds.isEmpty }

    /// Branches to name in task queries (nil: any branch row-level security lets through).
    var taskBranches: [Int]? { allBranches || isDepartmentOnly ? nil : branchIds }
}

extension Components.Schemas.Task {
    init(_ task: CallbackTask, now: Date) {
        self.init(
            id: task.id, branchId: Int32(task.branchId), branchCode: task.branchCode,
            ruleCode: .init(rawValue: task.ruleCode) ?? .special, ruleVersion: Int32(task.ruleVersion), period: task.period,
            sampleWindow: task.sampleWindow, clientId: task.clientId, brokerId: task.brokerId, subjectNo: task.subjectNo,
            subjectName: task.subjectName, directiveId: task.directiveId, flagId: task.flagId, eventId: task.eventId, title: task.title,
            ownerRole: task.ownerRole, ownerDepartmentId: task.ownerDepartmentId.map(Int32.init),
            executorDepartmentId: task.executorDepartmentId.map(Int32.init), dueAt: task.dueAt,
            overdue: !task.state.isClosed && task.dueAt < now, state: .init(rawValue: task.state.rawValue) ?? .open,
            assigneeStaffId: task.assigneeStaffId, assignedAt: task.assignedAt, startedAt: task.startedAt, closedAt: task.closedAt,
            closedBy: task.closedBy, closeReason: task.closeReason, note: task.outcomeNote, createdAt: task.createdAt,
            failedAttemptDays: Int32(task.failedAttemptDays))
    }
}

extension Components.Schemas.Attempt {
    init(_ attempt: CallbackAttempt) {
        self.init(
            id: attempt.id, taskId: attempt.taskId, attemptedAt: attempt.attemptedAt, channel: attempt.channel,
            outcome: attempt.outcome, note: attempt.note, staffId: attempt.staffId)
    }
}

extension Components.Schemas.TaskExplanation {
    init(_ explanation: Store.TaskExplanation) {
        self.init(
            taskId: explanation.taskId, branchCode: explanation.branchCode, subject: explanation.subject,
            ruleCode: .init(rawValue: explanation.ruleCode) ?? .special, ruleVersion: Int32(explanation.ruleVersion),
            ruleTitle: explanation.ruleTitle, articles: explanation.articles, population: explanation.population,
            coveragePercent: explanation.coveragePercent.twoDecimals, effectiveFrom: explanation.effectiveFrom.description,
            period: explanation.period, sampleWindow: explanation.sampleWindow, dueAt: explanation.dueAt, state: explanation.state,
            directiveId: explanation.directiveId, flagId: explanation.flagId,
            event: explanation.event.map { event in
                .init(
                    id: event.id, externalId: event.externalId, kind: .init(rawValue: event.kind) ?? .largeAssetMovement,
                    occurredAt: event.occurredAt, amount: event.amount?.twoDecimals, judgement: event.judgement)
            },
            draw: explanation.draw.map { draw in
                .init(
                    id: draw.id, number: Int32(draw.number), seed: draw.seed, asOf: draw.asOf?.description,
                    populationSize: Int32(draw.populationSize), required: Int32(draw.required), drawnAt: draw.drawnAt,
                    rank: Int32(clamping: draw.rank), inSample: draw.inSample)
            },
            replacesTaskId: explanation.replacesTaskId, replacementReason: explanation.replacementReason,
            replacedByTaskId: explanation.replacedByTaskId, lines: explanation.lines)
    }
}
