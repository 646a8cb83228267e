import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listStaff(_ input: Operations.ListStaff.Input) async throws -> Operations.ListStaff.Output {
        let access = try authorize(.readStaff)
        let after = try Cursors.id(input.query.after)
        let limit = try Cursors.limit(input.query.limit)
        let filter = StaffStore.Filter(
            branchId: input.query.branchId.map(Int.init), departmentId: input.query.departmentId.map(Int.init),
            status: input.query.status?.rawValue)
        let page = try await pool.transaction(for: access, readOnly: true) {
            try await StaffStore($0).list(filter, after: after, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Staff.init), next: page.next))))
    }

    func getStaff(_ input: Operations.GetStaff.Input) async throws -> Operations.GetStaff.Output {
        let access = try authorize(.readStaff)
        let member = try await pool.transaction(for: access, readOnly: true) { try await StaffStore($0).get(input.path.staffId) }
        guard let member else { throw AppError.notFound("staff member") }
        return .ok(.init(body: .json(.init(member))))
    }

    func createStaff(_ input: Operations.CreateStaff.Input) async throws -> Operations.CreateStaff.Output {
        let access = try authorize(.manageOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems = Validate.number(body.employeeNo, field: "employeeNo") + Validate.text(body.name, field: "name")
            + Validate.phone(body.phone, field: "phone") + Validate.email(body.email, field: "email")
            + Passwords.problems(with: body.password, field: "password")
        if (body.homeBranchId == nil) == (body.homeDepartmentId == nil) {
            problems.append(.init("homeBranchId", "give exactly one of homeBranchId and homeDepartmentId"))
        }
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let hash = try await passwords.hash(body.password)
        let member = try await pool.transaction(for: access) { connection in
            let member = try await StaffStore(connection).create(
                employeeNo: body.employeeNo, name: body.name, phone: body.phone, email: body.email,
                homeBranchId: body.homeBranchId.map(Int.init), homeDepartmentId: body.homeDepartmentId.map(Int.init))
            try await AuthStore.setPassword(staffId: member.id, hash: hash, reason: .admin, on: connection)
            try await AuditLog(connection).record(
                action: "staff.created", objectType: "staff", objectId: String(member.id), branchId: member.homeBranchId)
            return member
        }
        return .created(.init(body: .json(.init(member))))
    }

    func updateStaff(_ input: Operations.UpdateStaff.Input) async throws -> Operations.UpdateStaff.Output {
        let access = try authorize(.manageOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let problems = (body.name.map { Validate.text($0, field: "name") } ?? []) + Validate.phone(body.phone, field: "phone")
            + Validate.email(body.email, field: "email")
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let id = input.path.staffId
        let member = try await pool.transaction(for: access) { connection in
            let member = try await StaffStore(connection).update(
                id, name: body.name, phone: body.phone, email: body.email, status: body.status?.rawValue)
            if let member {
                try await AuditLog(connection).record(
                    action: "staff.updated", objectType: "staff", objectId: String(id), branchId: member.homeBranchId,
                    detail: try JSONB(encoding: ["status": body.status?.rawValue]))
            }
            return member
        }
        guard let member else { throw AppError.notFound("staff member") }
        return .ok(.init(body: .json(.init(member))))
    }

    func resetStaffPassword(_ input: Operations.ResetStaffPassword.Input) async throws -> Operations.ResetStaffPassword.Output {
        let access = try authorize(.manageOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let problems = Passwords.problems(with: body.newPassword, field: "newPassword")
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let hash = try await passwords.hash(body.newPassword)
        let id = input.path.staffId
        let found = try await pool.transaction(for: access) { connection in
            guard let member = try await StaffStore(connection).get(id) else { return false }
            let revoked = try await AuthStore.setPassword(staffId: id, hash: hash, reason: .admin, on: connection)
            try await AuditLog(connection).record(
                action: "staff.password_reset", objectType: "staff", objectId: String(id), branchId: member.homeBranchId,
                detail: try JSONB(encoding: ["sessions_revoked": revoked]))
            return true
        }
        guard found else { throw AppError.notFound("staff member") }
        return .noContent(.init())
    }

    func listGrants(_ input: Operations.ListGrants.Input) async throws -> Operations.ListGrants.Output {
        let access = try authorize(.readStaff)
        let grants = try await pool.transaction(for: access, readOnly: true) { connection -> [GrantRecord]? in
            guard try await StaffStore(connection).get(input.path.staffId) != nil else { return nil }
            return try await StaffStore(connection).grants(of: input.path.staffId)
        }
        guard let grants else { throw AppError.notFound("staff member") }
        return .ok(.init(body: .json(grants.map(Components.Schemas.Grant.init))))
    }

    func createGrant(_ input: Operations.CreateGrant.Input) async throws -> Operations.CreateGrant.Output {
        let access = try authorize(.manageOrganization)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        guard let role = Role(rawValue: body.role.rawValue) else { throw AppError.invalid([.init("role", "unknown role")]) }
        switch role.scope {
        case .branch where body.branchId == nil || body.departmentId != nil:
            throw AppError.invalid([.init("branchId", "\(role.rawValue) is a branch role: give branchId only")])
        case .department where body.departmentId == nil || body.branchId != nil:
            throw AppError.invalid([.init("departmentId", "\(role.rawValue) is an HQ role: give departmentId only")])
        default: break
        }
        let staffId = input.path.staffId
        let grant = try await pool.transaction(for: access) { connection -> GrantRecord? in
            guard try await StaffStore(connection).get(staffId) != nil else { return nil }
            let grant = try await StaffStore(connection).grant(
                staffId: staffId, role: role, branchId: body.branchId.map(Int.init), departmentId: body.departmentId.map(Int.init))
            try await AuditLog(connection).record(
                action: "role.granted", objectType: "role_grant", objectId: String(grant.id), branchId: grant.branchId,
                detail: try JSONB(encoding: ["staff_id": String(staffId), "role": role.rawValue]))
            return grant
        }
        guard let grant else { throw AppError.notFound("staff member") }
        return .created(.init(body: .json(.init(grant))))
    }

    func revokeGrant(_ input: Operations.RevokeGrant.Input) async throws -> Operations.RevokeGrant.Output {
        let access = try authorize(.manageOrganization)
        let revoked = try await pool.transaction(for: access) { connection -> GrantRecord? in
            guard let grant = try await StaffStore(connection).revoke(grantId: input.path.grantId, of: input.path.staffId) else {
                return nil
            }
            try await AuditLog(connection).record(
                action: "role.revoked", objectType: "role_grant", objectId: String(grant.id), branchId: grant.branchId,
                detail: try JSONB(encoding: ["staff_id": String(grant.staffId), "role": grant.role.rawValue]))
            return grant
        }
        guard revoked != nil else { throw AppError.notFound("live role grant") }
        return .noContent(.init())
    }
}

extension Components.Schemas.Staff {
    init(_ member: StaffMember) {
        self.init(
            id: member.id, employeeNo: member.employeeNo, name: member.name, phone: member.phone.map(PersonalDataMask.phone),
            email: member.email, status: .init(rawValue: member.status) ?? .inactive,
            homeBranchId: member.homeBranchId.map(Int32.init), homeDepartmentId: member.homeDepartmentId.map(Int32.init))
    }
}

extension Components.Schemas.Grant {
    init(_ grant: GrantRecord) {
        self.init(
            id: grant.id, staffId: grant.staffId, role: .init(rawValue: grant.role.rawValue)!,
            branchId: grant.branchId.map(Int32.init), departmentId: grant.departmentId.map(Int32.init),
            grantedBy: grant.grantedBy, grantedAt: grant.grantedAt, revokedBy: grant.revokedBy, revokedAt: grant.revokedAt)
    }
}
