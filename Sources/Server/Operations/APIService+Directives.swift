import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func issueDirective(_ input: Operations.IssueDirective.Input) async throws -> Operations.IssueDirective.Output {
        let access = try authorize(.manageDirectives)
        let principal = try signedIn()
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems = Validate.text(body.title, field: "title", max: 200) + Validate.text(body.purpose, field: "purpose", max: 4000)
        if body.questions.isEmpty { problems.append(.init("questions", "ask at least one question")) }
        for (index, question) in body.questions.enumerated() {
            problems += Validate.text(question.id, field: "questions[\(index)].id", max: 40)
            problems += Validate.text(question.text, field: "questions[\(index)].text", max: 1000)
        }
        if Set(body.questions.map(\.id)).count != body.questions.count {
            problems.append(.init("questions", "question ids must be unique"))
        }
        let today = self.today
        let dueOn = Dates.parse(body.dueOn)
        if dueOn == nil {
            problems.append(.init("dueOn", "must be a date YYYY-MM-DD"))
        } else if dueOn! <= today {
            problems.append(.init("dueOn", "must be after today"))
        }
        let target: DirectiveStore.Target
        switch (body.clients, body.filter) {
        case (let clients?, nil):
            if clients.isEmpty { problems.append(.init("clients", "list at least one client")) }
            target = .list(clients.map { ($0.branchCode, $0.clientNo) })
        case (nil, let filter?):
            var value = DirectiveStore.Filter()
            value.branchCodes = filter.branchCodes
            value.regions = filter.regions
            value.segment = filter.segment?.rawValue
            value.highNetWorth = filter.highNetWorth
            value.brokerIntroduced = filter.brokerIntroduced
            value.openedFrom = filter.openedFrom
            value.openedTo = filter.openedTo
            target = .filter(value)
        default:
            problems.append(.init("clients", "give exactly one of clients and filter"))
            target = .list([])
        }
        // The issuing department: the one named, else the only one the caller can issue for.
        let department: Int?
        if let named = body.departmentId {
            department = access.departmentIds.contains(Int(named)) ? Int(named) : nil
            if department == nil { problems.append(.init("departmentId", "you cannot issue directives for this department")) }
        } else if access.departmentIds.count == 1 {
            department = access.departmentIds[0]
        } else {
            department = nil
            problems.append(.init("departmentId", "you issue for several departments; name one"))
        }
        if body.executor == .callCenter, let department,
            !principal.grants.contains(where: { $0.role == .salesTradingHQ && $0.departmentId == department })
        {
            problems.append(.init("executor", "only S&T HQ directs the call center (Art 3, 11)"))
        }
        try Validate.throwing(problems)
        let questions = try JSONB(encoding: body.questions.map { ["id": $0.id, "text": $0.text] })
        let directive = try await pool.transaction(for: access) { db -> Directive? in
            let store = DirectiveStore(db)
            let issued: (id: Int64, tasks: Int)
            do {
                issued = try await store.issue(
                    .init(
                        departmentId: department!, title: body.title, purpose: body.purpose, questions: questions, target: target,
                        executor: body.executor.rawValue, dueOn: dueOn!, today: today),
                    createdBy: access.staffId)
            } catch let error as DirectiveStore.IssueError {
                throw Self.problem(error)
            }
            try await AuditLog(db).record(
                action: "directive.issued", objectType: "directive", objectId: String(issued.id),
                detail: try JSONB(encoding: ["tasks": issued.tasks]))
            return try await store.get(issued.id, branches: access.routingBranches)
        }
        guard let directive else { throw AppError.notFound("directive") }
        return .created(.init(body: .json(try .init(directive))))
    }

    func listDirectives(_ input: Operations.ListDirectives.Input) async throws -> Operations.ListDirectives.Output {
        let access = try authorize(.readDirectives)
        let before = try Cursors.id(input.query.after)
        let limit = try Cursors.limit(input.query.limit)
        let page = try await pool.transaction(for: access, readOnly: true) {
            try await DirectiveStore($0).list(
                departmentId: input.query.departmentId.map(Int.init), branches: access.routingBranches, after: before, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: try page.items.map(Components.Schemas.Directive.init), next: page.next))))
    }

    func getDirective(_ input: Operations.GetDirective.Input) async throws -> Operations.GetDirective.Output {
        let access = try authorize(.readDirectives)
        let directive = try await pool.transaction(for: access, readOnly: true) {
            try await DirectiveStore($0).get(input.path.directiveId, branches: access.routingBranches)
        }
        guard let directive else { throw AppError.notFound("directive") }
        return .ok(.init(body: .json(try .init(directive))))
    }

    func cancelDirective(_ input: Operations.CancelDirective.Input) async throws -> Operations.CancelDirective.Output {
        let access = try authorize(.manageDirectives)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Validate.reason(body.reason))
        let id = input.path.directiveId
        let directive = try await pool.transaction(for: access) { db -> Directive? in
            let store = DirectiveStore(db)
            guard let current = try await store.get(id, branches: access.routingBranches) else { return nil }
            guard access.departmentIds.contains(current.departmentId) else {
                throw AppError.forbiddenBecause(.manageDirectives, "only the issuing department withdraws a directive")
            }
            guard try await store.cancel(id, departments: access.departmentIds, reason: body.reason) else {
                throw AppError.conflict("the directive is already cancelled")
            }
            try await AuditLog(db).record(action: "directive.cancelled", objectType: "directive", objectId: String(id), reason: body.reason)
            return try await store.get(id, branches: access.routingBranches)
        }
        guard let directive else { throw AppError.notFound("directive") }
        return .ok(.init(body: .json(try .init(directive))))
    }

    private static func problem(_ error: DirectiveStore.IssueError) -> AppError {
        switch error {
        case .unknownClients(let indexes):
            .invalid(indexes.prefix(100).map { .init("clients[\($0)]", "no open client with this branch code and client number") })
        case .emptyTarget: .invalid([.init("filter", "matches no open client")])
        case .noCallCenter: .invalid([.init("executor", "there is no active call-center department")])
        case .dueTooSoon: .invalid([.init("dueOn", "must leave at least one working day")])
        case .noRule: .conflict("no version of the special-callback rule is in effect today")
        }
    }
}

extension Components.Schemas.Directive {
    init(_ directive: Directive) throws {
        let questions = try directive.questions.decode([[String: String]].self)
        var filter: Components.Schemas.DirectiveFilter?
        if let stored = directive.targetFilter {
            let value = try stored.decode(DirectiveStore.Filter.self)
            filter = .init(
                branchCodes: value.branchCodes, regions: value.regions,
                segment: value.segment.flatMap { .init(rawValue: $0) }, highNetWorth: value.highNetWorth,
                brokerIntroduced: value.brokerIntroduced, openedFrom: value.openedFrom, openedTo: value.openedTo)
        }
        self.init(
            id: directive.id, departmentId: Int32(directive.departmentId), title: directive.title, purpose: directive.purpose,
            questions: questions.map { .init(id: $0["id"] ?? "", text: $0["text"] ?? "") },
            targetKind: .init(rawValue: directive.targetKind) ?? .list, filter: filter, targetCount: Int32(directive.targetCount),
            executor: .init(rawValue: directive.executor) ?? .branch,
            executorDepartmentId: directive.executorDepartmentId.map(Int32.init), dueOn: directive.dueOn.description,
            status: .init(rawValue: directive.status) ?? .active, createdBy: directive.createdBy, createdAt: directive.createdAt,
            cancelReason: directive.cancelReason,
            progress: .init(additionalProperties: directive.progress.mapValues(Int32.init)), overdue: Int32(directive.overdue))
    }
}
