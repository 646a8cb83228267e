import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    var today: PostgresDate { PostgresDate.shanghai(now()) }

    func listClients(_ input: Operations.ListClients.Input) async throws -> Operations.ListClients.Output {
        let access = try authorize(.readClients)
        let query = input.query
        let after = try Cursors.branchAndID(query.after)
        var filter = ClientStore.Filter()
        filter.branchId = query.branchId.map(Int.init)
        filter.status = query.status?.rawValue
        filter.brokerIntroduced = query.kind.map { $0 == .brokerIntroduced }
        filter.segment = query.segment?.rawValue
        filter.highNetWorth = query.highNetWorth
        filter.referrerStaffId = query.referrerStaffId
        filter.referrerBrokerId = query.referrerBrokerId
        filter.openedFrom = query.openedFrom
        filter.openedTo = query.openedTo
        let limit = try Cursors.limit(query.limit)
        let today = self.today
        let page = try await pool.transaction(for: access, readOnly: true) {
            try await ClientStore($0).list(filter, branches: access.indexableBranches, today: today, after: after, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Client.init), next: page.next))))
    }

    func getClient(_ input: Operations.GetClient.Input) async throws -> Operations.GetClient.Output {
        let access = try authorize(.readClients)
        let today = self.today
        let client = try await pool.transaction(for: access, readOnly: true) {
            try await ClientStore($0).get(input.path.clientId, branches: access.indexableBranches, today: today)
        }
        guard let client else { throw AppError.notFound("client") }
        return .ok(.init(body: .json(.init(client))))
    }

    func listClientReferrers(_ input: Operations.ListClientReferrers.Input) async throws -> Operations.ListClientReferrers.Output {
        let access = try authorize(.readClients)
        let history = try await pool.transaction(for: access, readOnly: true) {
            try await ClientStore($0).referrers(of: input.path.clientId, branches: access.indexableBranches)
        }
        guard let history else { throw AppError.notFound("client") }
        return .ok(.init(body: .json(.init(items: history.map(Components.Schemas.ClientReferrer.init)))))
    }

    func createClient(_ input: Operations.CreateClient.Input) async throws -> Operations.CreateClient.Output {
        let access = try authorize(.writeClients)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        guard access.reaches(branch: Int(body.branchId)) else { throw AppError.forbidden(.writeClients) }
        var problems = Validate.number(body.clientNo, field: "clientNo") + Validate.text(body.name, field: "name")
            + Validate.idNumber(body.idNumber, type: body.idType.rawValue, field: "idNumber")
            + Validate.phone(body.phone, field: "phone")
        if body.openedAt > now().addingTimeInterval(86400) { problems.append(.init("openedAt", "must not be in the future")) }
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let today = self.today
        let client = try await pool.transaction(for: access) { connection in
            let store = ClientStore(connection)
            let id = try await store.create(
                .init(
                    branchId: Int(body.branchId), clientNo: body.clientNo, name: body.name, idType: body.idType.rawValue,
                    idNumber: body.idNumber, phone: body.phone, openedAt: body.openedAt,
                    referrerStaffId: body.referrerStaffId, referrerBrokerId: body.referrerBrokerId))
            try await AuditLog(connection).record(
                action: "client.opened", objectType: "client", objectId: String(id), branchId: Int(body.branchId))
            return try await store.get(id, branches: access.indexableBranches, today: today)
        }
        guard let client else { throw AppError.notFound("client") }
        return .created(.init(body: .json(.init(client))))
    }

    func updateClient(_ input: Operations.UpdateClient.Input) async throws -> Operations.UpdateClient.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let changesReferrer = body.referrerStaffId != nil || body.referrerBrokerId != nil || body.clearReferrers == true
        // Changing who introduced the client decides recusal (Art 4): that takes its own permission,
        // and the transaction is scoped to where it is held.
        let access = try authorize(changesReferrer ? .changeReferrer : .writeClients)
        _ = try authorize(.writeClients)
        var problems = (body.name.map { Validate.text($0, field: "name") } ?? []) + Validate.phone(body.phone, field: "phone")
        if body.idNumber != nil, body.idType == nil {
            problems.append(.init("idType", "give the document type with a new idNumber"))
        }
        if let number = body.idNumber, let type = body.idType {
            problems += Validate.idNumber(number, type: type.rawValue, field: "idNumber")
        }
        if body.clearReferrers == true, body.referrerStaffId != nil || body.referrerBrokerId != nil {
            problems.append(.init("clearReferrers", "cannot clear and set referrers at once"))
        }
        if changesReferrer {
            problems += Validate.reason(body.referrerReason ?? "", field: "referrerReason")
        } else if body.referrerReason != nil {
            problems.append(.init("referrerReason", "give it only with a change of referrers"))
        }
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        var patch = ClientStore.Patch()
        patch.name = body.name
        patch.idType = body.idType?.rawValue
        patch.idNumber = body.idNumber
        patch.phone = body.phone
        if body.clearReferrers == true {
            patch.referrerStaffId = .some(nil)
            patch.referrerBrokerId = .some(nil)
        } else {
            if let staff = body.referrerStaffId { patch.referrerStaffId = .some(staff) }
            if let broker = body.referrerBrokerId { patch.referrerBrokerId = .some(broker) }
        }
        let id = input.path.clientId
        let today = self.today
        let changedFields = [
            body.name.map { _ in "name" }, body.idType.map { _ in "idType" }, body.idNumber.map { _ in "idNumber" },
            body.phone.map { _ in "phone" }, changesReferrer ? "referrers" : nil,
        ].compactMap { $0 }
        let client = try await pool.transaction(for: access) { connection -> Client? in
            let store = ClientStore(connection)
            if changesReferrer, let reason = body.referrerReason {
                // The referrer history (huifang.client_referrers) keeps why; the database refuses a change without it.
                try await connection.query("select set_config('huifang.reason', \(reason), true)")
            }
            guard let branch = try await store.update(id, in: access.branchIds, patch) else { return nil }
            // A referrer change is audited by the database too, with the old and new referrers (client.referrer_changed).
            try await AuditLog(connection).record(
                action: "client.updated", objectType: "client",
                objectId: String(id), branchId: branch, detail: try JSONB(encoding: ["fields": changedFields]))
            return try await store.get(id, branches: access.indexableBranches, today: today)
        }
        guard let client else { throw AppError.notFound("client") }
        return .ok(.init(body: .json(.init(client))))
    }

    func closeClient(_ input: Operations.CloseClient.Input) async throws -> Operations.CloseClient.Output {
        let access = try authorize(.writeClients)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let problems = Validate.reason(body.reason)
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let closedAt = body.closedAt ?? now()
        let id = input.path.clientId
        let today = self.today
        let client = try await pool.transaction(for: access) { connection -> Client? in
            let store = ClientStore(connection)
            switch try await store.close(id, in: access.branchIds, at: closedAt) {
            case .notFound: return nil
            case .alreadyClosed: throw AppError.conflict("the client's account is already closed")
            case .closed(let branch):
                try await AuditLog(connection).record(
                    action: "client.closed", objectType: "client", objectId: String(id), branchId: branch, reason: body.reason)
            }
            return try await store.get(id, branches: access.indexableBranches, today: today)
        }
        guard let client else { throw AppError.notFound("client") }
        return .ok(.init(body: .json(.init(client))))
    }

    func revealClient(_ input: Operations.RevealClient.Input) async throws -> Operations.RevealClient.Output {
        let access = try authorize(.revealPersonalData)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems = Validate.reason(body.reason)
        if body.fields.isEmpty { problems.append(.init("fields", "name at least one of idNumber, phone")) }
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let fields = Array(Set(body.fields.map(\.rawValue))).sorted()
        let id = input.path.clientId
        let today = self.today
        let revealed = try await pool.transaction(for: access) { connection -> (Client, Int64)? in
            guard let client = try await ClientStore(connection).get(id, branches: access.indexableBranches, today: today) else { return nil }
            let event = try await AuditLog(connection).recordNow(
                action: "personal_data.revealed", objectType: "client", objectId: String(id), branchId: client.branchId,
                reason: body.reason, detail: try JSONB(encoding: ["fields": fields]))
            return (client, event)
        }
        guard let (client, event) = revealed else { throw AppError.notFound("client") }
        return .ok(
            .init(
                body: .json(
                    .init(
                        clientId: id, idNumber: fields.contains("idNumber") ? client.idNumber : nil,
                        phone: fields.contains("phone") ? client.phone : nil, auditEventId: event))))
    }

    func listClientAssetSnapshots(_ input: Operations.ListClientAssetSnapshots.Input) async throws -> Operations.ListClientAssetSnapshots.Output {
        let access = try authorize(.readClients)
        let id = input.path.clientId
        let today = self.today
        let snapshots = try await pool.transaction(for: access, readOnly: true) { connection -> [AssetSnapshot]? in
            let store = ClientStore(connection)
            guard let client = try await store.get(id, branches: access.indexableBranches, today: today) else { return nil }
            return try await store.snapshots(of: id, in: client.branchId)
        }
        guard let snapshots else { throw AppError.notFound("client") }
        return .ok(.init(body: .json(snapshots.map(Components.Schemas.AssetSnapshot.init))))
    }

    func uploadAssetSnapshots(_ input: Operations.UploadAssetSnapshots.Input) async throws -> Operations.UploadAssetSnapshots.Output {
        let access = try authorize(.writeAssetSnapshots)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems: [Problem.FieldError] = []
        if body.snapshots.isEmpty || body.snapshots.count > 10_000 {
            problems.append(.init("snapshots", "send 1 to 10000 snapshots per request"))
        }
        var snapshots: [AssetSnapshot] = []
        var seen = Set<String>()
        for (index, item) in body.snapshots.enumerated() {
            let field = "snapshots[\(index)]"
            let asOf = Dates.parse(item.asOf)
            let lastTrade = item.lastTradeDate.flatMap(Dates.parse)
            let amount = Decimal(string: item.totalAssets)
            if asOf == nil { problems.append(.init("\(field).asOf", "must be a date like 2026-11-25")) }
            if item.lastTradeDate != nil, lastTrade == nil { problems.append(.init("\(field).lastTradeDate", "must be a date like 2026-11-25")) }
            problems += Validate.money(item.totalAssets, field: "\(field).totalAssets")
            if let asOf, let lastTrade, lastTrade > asOf {
                problems.append(.init("\(field).lastTradeDate", "is after the snapshot date"))
            }
            if let asOf, !seen.insert("\(item.clientId)/\(asOf)").inserted {
                problems.append(.init(field, "repeats client \(item.clientId) on \(asOf)"))
            }
            if let asOf, let amount {
                snapshots.append(.init(clientId: item.clientId, asOf: asOf, totalAssets: amount, lastTradeDate: lastTrade))
            }
            if problems.count >= 100 { break }
        }
        if let reason = body.reason { problems += Validate.text(reason, field: "reason", max: 2000) }
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let result = try await pool.transaction(for: access) { connection in
            let result: (missing: [Int64], inserted: Int, updated: Int, unchanged: Int)
            do {
                result = try await ClientStore(connection).upsertSnapshots(snapshots, branches: access.routingBranches, reason: body.reason)
            } catch let error as PostgresError where error.constraint == "client_asset_snapshots_correction" {
                throw AppError.invalid([.init("reason", "\(error.message); snapshots already recorded are corrected, never overwritten")])
            }
            guard result.missing.isEmpty else {
                let missing = Set(result.missing)
                throw AppError.invalid(
                    body.snapshots.enumerated().filter { missing.contains($0.element.clientId) }.prefix(100).map {
                        .init("snapshots[\($0.offset)].clientId", "no client \($0.element.clientId) in a branch you may write to")
                    })
            }
            try await AuditLog(connection).record(
                action: "asset_snapshots.uploaded", objectType: "asset_snapshot", objectId: nil,
                branchId: access.branchIds.count == 1 ? access.branchIds[0] : nil,
                detail: try JSONB(encoding: ["inserted": result.inserted, "updated": result.updated, "unchanged": result.unchanged]))
            return result
        }
        return .ok(.init(body: .json(.init(inserted: result.inserted, updated: result.updated, unchanged: result.unchanged))))
    }
}

extension Components.Schemas.Client {
    /// Personal data leaves the server masked; `POST /clients/{id}/reveal` is the only way to the clear values.
    init(_ client: Client) {
        self.init(
            id: client.id, branchId: Int32(client.branchId), clientNo: client.clientNo, name: client.name,
            idType: .init(rawValue: client.idType) ?? .other, idNumber: PersonalDataMask.idNumber(client.idNumber),
            phone: client.phone.map(PersonalDataMask.phone), openedAt: client.openedAt,
            status: .init(rawValue: client.status) ?? .open, closedAt: client.closedAt,
            kind: client.isBrokerIntroduced ? .brokerIntroduced : .ordinary, referrerStaffId: client.referrerStaffId,
            referrerBrokerId: client.referrerBrokerId,
            classification: client.classification.map {
                .init(
                    asOf: $0.asOf.description, totalAssets: $0.totalAssets.twoDecimals, lastTradeDate: $0.lastTradeDate?.description,
                    highNetWorth: $0.highNetWorth, segment: .init(rawValue: $0.segment) ?? .smallMedium)
            })
    }
}

extension Components.Schemas.ClientReferrer {
    init(_ period: ClientReferrer) {
        self.init(
            id: period.id, clientId: period.clientId, referrerStaffId: period.referrerStaffId, referrerBrokerId: period.referrerBrokerId,
            brokerStaffId: period.brokerStaffId, validFrom: period.validFrom, validUntil: period.validUntil, changedBy: period.changedBy,
            reason: period.reason, endedBy: period.endedBy, endReason: period.endReason)
    }
}

extension Components.Schemas.AssetSnapshot {
    init(_ snapshot: AssetSnapshot) {
        self.init(
            clientId: snapshot.clientId, asOf: snapshot.asOf.description, totalAssets: snapshot.totalAssets.twoDecimals,
            lastTradeDate: snapshot.lastTradeDate?.description, revision: Int32(snapshot.revision), recordedAt: snapshot.recordedAt,
            correctionReason: snapshot.correctionReason)
    }
}
