import API
import Domain
import Foundation
import OpenAPIRuntime
import Postgres
import Store

extension APIService {
    func listBrokers(_ input: Operations.ListBrokers.Input) async throws -> Operations.ListBrokers.Output {
        let access = try authorize(.readBrokers)
        let after = try Cursors.branchAndID(input.query.after)
        let limit = try Cursors.limit(input.query.limit)
        let page = try await pool.transaction(for: access, readOnly: true) {
            try await BrokerStore($0).list(
                branchId: input.query.branchId.map(Int.init), status: input.query.status?.rawValue,
                branches: access.routingBranches, after: after, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Broker.init), next: page.next))))
    }

    func getBroker(_ input: Operations.GetBroker.Input) async throws -> Operations.GetBroker.Output {
        let access = try authorize(.readBrokers)
        let broker = try await pool.transaction(for: access, readOnly: true) {
            try await BrokerStore($0).get(input.path.brokerId, branches: access.routingBranches)
        }
        guard let broker else { throw AppError.notFound("broker") }
        return .ok(.init(body: .json(.init(broker))))
    }

    func createBroker(_ input: Operations.CreateBroker.Input) async throws -> Operations.CreateBroker.Output {
        let access = try authorize(.writeBrokers)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        guard access.reaches(branch: Int(body.branchId)) else { throw AppError.forbidden(.writeBrokers) }
        let problems = Validate.number(body.agentNo, field: "agentNo") + Validate.text(body.name, field: "name")
            + Validate.phone(body.phone, field: "phone") + Validate.date(body.registeredOn, field: "registeredOn")
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let broker = try await pool.transaction(for: access) { connection in
            let broker = try await BrokerStore(connection).create(
                branchId: Int(body.branchId), agentNo: body.agentNo, name: body.name, phone: body.phone, staffId: body.staffId,
                registeredOn: body.registeredOn.flatMap(Dates.parse))
            try await AuditLog(connection).record(
                action: "broker.registered", objectType: "broker", objectId: String(broker.id), branchId: broker.branchId)
            return broker
        }
        return .created(.init(body: .json(.init(broker))))
    }

    func updateBroker(_ input: Operations.UpdateBroker.Input) async throws -> Operations.UpdateBroker.Output {
        let access = try authorize(.writeBrokers)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let problems = (body.name.map { Validate.text($0, field: "name") } ?? []) + Validate.phone(body.phone, field: "phone")
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let id = input.path.brokerId
        let broker = try await pool.transaction(for: access) { connection -> Broker? in
            guard
                let broker = try await BrokerStore(connection).update(
                    id, branches: access.routingBranches, name: body.name, phone: body.phone, staffId: body.staffId, status: body.status?.rawValue)
            else { return nil }
            try await AuditLog(connection).record(
                action: "broker.updated", objectType: "broker", objectId: String(id), branchId: broker.branchId)
            return broker
        }
        guard let broker else { throw AppError.notFound("broker") }
        return .ok(.init(body: .json(.init(broker))))
    }

    func listAuditEvents(_ input: Operations.ListAuditEvents.Input) async throws -> Operations.ListAuditEvents.Output {
        let access = try authorize(.readAudit)
        let before = try Cursors.timeAndID(input.query.after)
        let filter = AuditLog.Filter(
            branchId: input.query.branchId.map(Int.init), action: input.query.action, objectType: input.query.objectType,
            objectId: input.query.objectId)
        let limit = try Cursors.limit(input.query.limit)
        let page = try await pool.transaction(for: access, adding: AuditLog.listSettings, readOnly: true) {
            try await AuditLog($0).list(filter, branches: access.indexableBranches, before: before, limit: limit)
        }
        let items = try page.items.map { event in
            Components.Schemas.AuditEvent(
                id: event.id, at: event.at, actorStaffId: event.actorStaffId, branchId: event.branchId.map(Int32.init),
                action: event.action, objectType: event.objectType, objectId: event.objectId, reason: event.reason,
                detail: .init(additionalProperties: try event.detail.decode(OpenAPIObjectContainer.self)))
        }
        return .ok(.init(body: .json(.init(items: items, next: page.next))))
    }
}

extension Components.Schemas.Broker {
    init(_ broker: Broker) {
        self.init(
            id: broker.id, branchId: Int32(broker.branchId), agentNo: broker.agentNo, name: broker.name,
            phone: broker.phone.map(PersonalDataMask.phone), staffId: broker.staffId,
            status: .init(rawValue: broker.status) ?? .inactive, registeredOn: broker.registeredOn?.description)
    }
}
