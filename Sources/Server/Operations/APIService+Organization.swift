import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listBranches(_ input: Operations.ListBranches.Input) async throws -> Operations.ListBranches.Output {
        let access = try authorize(.readOrganization)
        let branches = try await pool.transaction(for: access, readOnly: true) { try await BranchStore($0).list() }
        return .ok(.init(body: .json(branches.map(Components.Schemas.Branch.init))))
    }

    func getBranch(_ input: Operations.GetBranch.Input) async throws -> Operations.GetBranch.Output {
        let access = try authorize(.readOrganization)
        let branch = try await pool.transaction(for: access, readOnly: true) {
            try await BranchStore($0).get(Int(input.path.branchId))
        }
        guard let branch else { throw AppError.notFound("branch") }
        return .ok(.init(body: .json(.init(branch))))
    }

    func createBranch(_ input: Operations.CreateBranch.Input) async throws -> Operations.CreateBranch.Output {
        let access = try authorize(.manageOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems = Validate.code(body.code, field: "code") + Validate.text(body.name, field: "name")
            + Validate.text(body.region, field: "region")
        problems += Validate.branchSettings(
            dormantAfterDays: body.dormantAfterDays, coreMinAssets: body.coreMinAssets, coreTopN: body.coreTopN)
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let branch = try await pool.transaction(for: access) { connection in
            let branch = try await BranchStore(connection).create(
                .init(
                    code: body.code, name: body.name, region: body.region, dormantAfterDays: body.dormantAfterDays.map(Int.init),
                    coreMinAssets: body.coreMinAssets.flatMap { Decimal(string: $0) }, coreTopN: body.coreTopN.map(Int.init)))
            try await AuditLog(connection).record(action: "branch.created", objectType: "branch", objectId: String(branch.id))
            return branch
        }
        return .created(.init(body: .json(.init(branch))))
    }

    func updateBranch(_ input: Operations.UpdateBranch.Input) async throws -> Operations.UpdateBranch.Output {
        let access = try authorize(.manageOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems = body.name.map { Validate.text($0, field: "name") } ?? []
        problems += body.region.map { Validate.text($0, field: "region") } ?? []
        problems += Validate.branchSettings(
            dormantAfterDays: body.dormantAfterDays, coreMinAssets: body.coreMinAssets, coreTopN: body.coreTopN)
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let id = Int(input.path.branchId)
        let branch = try await pool.transaction(for: access) { connection in
            let branch = try await BranchStore(connection).update(
                id,
                .init(
                    name: body.name, region: body.region, status: body.status?.rawValue,
                    dormantAfterDays: body.dormantAfterDays.map(Int.init),
                    coreMinAssets: body.coreMinAssets.flatMap { Decimal(string: $0) }, coreTopN: body.coreTopN.map(Int.init)))
            if branch != nil {
                try await AuditLog(connection).record(
                    action: "branch.updated", objectType: "branch", objectId: String(id), branchId: id)
            }
            return branch
        }
        guard let branch else { throw AppError.notFound("branch") }
        return .ok(.init(body: .json(.init(branch))))
    }

    func listDepartments(_ input: Operations.ListDepartments.Input) async throws -> Operations.ListDepartments.Output {
        let access = try authorize(.readOrganization)
        let departments = try await pool.transaction(for: access, readOnly: true) { try await BranchStore($0).listDepartments() }
        return .ok(.init(body: .json(departments.map(Components.Schemas.Department.init))))
    }

    func createDepartment(_ input: Operations.CreateDepartment.Input) async throws -> Operations.CreateDepartment.Output {
        let access = try authorize(.manageOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let problems = Validate.code(body.code, field: "code") + Validate.text(body.name, field: "name")
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let department = try await pool.transaction(for: access) { connection in
            let department = try await BranchStore(connection).createDepartment(
                code: body.code, name: body.name, kind: body.kind.rawValue)
            try await AuditLog(connection).record(
                action: "department.created", objectType: "department", objectId: String(department.id))
            return department
        }
        return .created(.init(body: .json(.init(department))))
    }

    func updateDepartment(_ input: Operations.UpdateDepartment.Input) async throws -> Operations.UpdateDepartment.Output {
        let access = try authorize(.manageOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let problems = body.name.map { Validate.text($0, field: "name") } ?? []
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let id = Int(input.path.departmentId)
        let department = try await pool.transaction(for: access) { connection in
            let department = try await BranchStore(connection).updateDepartment(id, name: body.name, status: body.status?.rawValue)
            if department != nil {
                try await AuditLog(connection).record(action: "department.updated", objectType: "department", objectId: String(id))
            }
            return department
        }
        guard let department else { throw AppError.notFound("department") }
        return .ok(.init(body: .json(.init(department))))
    }
}

extension Components.Schemas.Branch {
    init(_ branch: Branch) {
        self.init(
            id: Int32(branch.id), code: branch.code, name: branch.name, region: branch.region,
            status: .init(rawValue: branch.status) ?? .active, dormantAfterDays: Int32(branch.dormantAfterDays),
            coreMinAssets: branch.coreMinAssets.twoDecimals, coreTopN: branch.coreTopN.map(Int32.init))
    }
}

extension Components.Schemas.Department {
    init(_ department: Department) {
        self.init(
            id: Int32(department.id), code: department.code, name: department.name,
            kind: .init(rawValue: department.kind) ?? .other, status: .init(rawValue: department.status) ?? .active)
    }
}
