import API
import Domain
import Foundation
import OpenAPIRuntime
import Postgres
import Store

extension APIService {
    func listOverdue(_ input: Operations.ListOverdue.Input) async throws -> Operations.ListOverdue.Output {
        let access = try authorize(.readMonitoring)
        let query = input.query
        let filter = Self.clockFilter(kind: query.kind?.rawValue, branchId: query.branchId, region: query.region, departmentId: query.departmentId)
        let limit = try Cursors.limit(query.limit)
        let now = now()
        let (items, counts) = try await reports.monitoringTransaction(for: access) { db in
            let monitoring = MonitoringQueries(db, now: now)
            return (
                try await monitoring.clocks(.overdue, filter, branches: access.indexableBranches, limit: limit),
                try await monitoring.overdueCounts(branches: filter.branchId.map { [$0] } ?? access.indexableBranches, kind: filter.kind))
        }
        return .ok(.init(body: .json(.init(
            items: items.map(Components.Schemas.ClockItem.init),
            counts: counts.map {
                .init(branchId: Int32($0.branchId), branchCode: $0.branchCode, kind: $0.kind, count: Int32($0.count),
                      oldestAgeWorkdays: Int32($0.oldestAgeWorkdays))
            }))))
    }

    func listAtRisk(_ input: Operations.ListAtRisk.Input) async throws -> Operations.ListAtRisk.Output {
        let access = try authorize(.readMonitoring)
        let query = input.query
        let filter = Self.clockFilter(kind: query.kind?.rawValue, branchId: query.branchId, region: query.region, departmentId: query.departmentId)
        let limit = try Cursors.limit(query.limit)
        let now = now()
        let items = try await reports.monitoringTransaction(for: access) {
            try await MonitoringQueries($0, now: now).clocks(.atRisk, filter, branches: access.indexableBranches, limit: limit)
        }
        return .ok(.init(body: .json(items.map(Components.Schemas.ClockItem.init))))
    }

    func getSLACompliance(_ input: Operations.GetSLACompliance.Input) async throws -> Operations.GetSLACompliance.Output {
        let access = try authorize(.readMonitoring)
        let month = input.query.month
        try Validate.throwing(Validate.month(month))
        let now = now()
        let report = try await reports.monitoringTransaction(for: access) { db in
            let monitoring = MonitoringQueries(db, now: now)
            let branches = access.indexableBranches
            let problems = try await monitoring.problemCompliance(month: month, branches: branches)
            return Components.Schemas.SLACompliance(
                month: month,
                forwardingsByDepartment: try await monitoring.forwardingCompliance(month: month, branches: branches).map(Components.Schemas.ComplianceRow.init),
                problemsByDepartment: problems.byDepartment.map(Components.Schemas.ComplianceRow.init),
                problemsByBranch: problems.byBranch.map(Components.Schemas.ComplianceRow.init))
        }
        return .ok(.init(body: .json(report)))
    }

    func getUploadCompliance(_ input: Operations.GetUploadCompliance.Input) async throws -> Operations.GetUploadCompliance.Output {
        try Validate.throwing(Validate.month(input.query.month))
        let access = try authorize(.readMonitoring)
        let now = now()
        let rows = try await reports.monitoringTransaction(for: access) {
            try await MonitoringQueries($0, now: now).uploadCompliance(month: input.query.month, branches: access.indexableBranches)
        }
        return .ok(.init(body: .json(rows.map {
            .init(branchId: Int32($0.branchId), branchCode: $0.branchCode, standing: .init(rawValue: $0.standing) ?? .pending,
                  dueAt: $0.dueAt, submittedAt: $0.submittedAt, recordCount: $0.recordCount.map(Int32.init))
        })))
    }

    func getPeopleFigures(_ input: Operations.GetPeopleFigures.Input) async throws -> Operations.GetPeopleFigures.Output {
        try Validate.throwing(Validate.month(input.query.month))
        let access = try authorize(.readMonitoring)
        let branch = Int(input.query.branchId)
        guard access.reaches(branch: branch) else { throw AppError.notFound("branch in your scope") }
        let now = now()
        let rows = try await reports.monitoringTransaction(for: access) {
            try await MonitoringQueries($0, now: now).people(branchId: branch, month: input.query.month)
        }
        return .ok(.init(body: .json(rows.map {
            .init(staffId: $0.staffId, employeeNo: $0.employeeNo, name: $0.name, callbacksDone: Int32($0.callbacksDone),
                  callbacksOnTime: Int32($0.callbacksOnTime), recordsReturned: Int32($0.recordsReturned),
                  problemsRaised: Int32($0.problemsRaised), problemsClosed: Int32($0.problemsClosed),
                  problemsRejected: Int32($0.problemsRejected), problemsOpen: Int32($0.problemsOpen))
        })))
    }

    private static func clockFilter(kind: String?, branchId: Int32?, region: String?, departmentId: Int32?) -> MonitoringQueries.Filter {
        var filter = MonitoringQueries.Filter()
        filter.kind = kind
        filter.branchId = branchId.map(Int.init)
        filter.region = region
        filter.departmentId = departmentId.map(Int.init)
        return filter
    }
}

extension Components.Schemas.ClockItem {
    init(_ item: ClockItem) {
        self.init(
            kind: .init(rawValue: item.kind) ?? .callbackTask, branchId: Int32(item.branchId), branchCode: item.branchCode, region: item.region,
            departmentId: item.departmentId.map(Int32.init), subjectId: item.subjectId, title: item.title, dueAt: item.dueAt,
            ageWorkdays: Int32(clamping: item.ageWorkdays), provisional: item.provisional)
    }
}

extension Components.Schemas.ComplianceRow {
    init(_ row: MonitoringQueries.Compliance) {
        self.init(
            id: Int32(row.id), code: row.code, total: Int32(row.total), met: Int32(row.met), breachedStopped: Int32(row.breachedStopped),
            breachedOpen: Int32(row.breachedOpen), misrouted: Int32(row.misrouted), withinDeadline: Int32(row.met), share: row.share,
            medianWorkdays: row.medianWorkdays, p90Workdays: row.p90Workdays)
    }
}

extension APIService {
    func exportAssessment(_ input: Operations.ExportAssessment.Input) async throws -> Operations.ExportAssessment.Output {
        try Validate.throwing(Validate.month(input.query.month))
        let access = try authorize(.readMonitoring)
        let unit = AssessmentExport.Unit(rawValue: input.query.by.rawValue) ?? .branch
        let table = try await reports.monitoringTransaction(for: access) {
            try await AssessmentExport($0).table(unit, month: input.query.month, branches: access.indexableBranches)
        }
        return .ok(.init(body: .csv(HTTPBody(table.csv))))
    }
}
