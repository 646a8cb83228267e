import API
import Delivery
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listDeliveryChannels(_ input: Operations.ListDeliveryChannels.Input) async throws -> Operations.ListDeliveryChannels.Output {
        let access = try authorize(.readDeliveryChannels)
        let channels = try await pool.transaction(for: access, readOnly: true) {
            try await ChannelStore($0).list(branchId: input.query.branchId.map(Int.init), departmentId: input.query.departmentId.map(Int.init))
        }
        return .ok(.init(body: .json(channels.map { .init($0) })))
    }

    func getDeliveryChannel(_ input: Operations.GetDeliveryChannel.Input) async throws -> Operations.GetDeliveryChannel.Output {
        let access = try authorize(.readDeliveryChannels)
        guard let channel = try await pool.transaction(for: access, readOnly: true, { try await ChannelStore($0).get(input.path.channelId) })
        else { throw AppError.notFound("channel") }
        return .ok(.init(body: .json(.init(channel))))
    }

    func createDeliveryChannel(_ input: Operations.CreateDeliveryChannel.Input) async throws -> Operations.CreateDeliveryChannel.Output {
        let access = try authorize(.manageDeliveryChannels)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let kind = ChannelKind(rawValue: body.kind.rawValue) ?? .webhook
        let role = body.role.flatMap { Role(rawValue: $0.rawValue) }
        let kinds = body.notificationKinds.compactMap { DeliveryKind(rawValue: $0.rawValue) }
        var problems = Validate.text(body.name, field: "name")
            + ChannelChecks.owner(branchId: body.branchId, role: role, departmentId: body.departmentId)
            + ChannelChecks.kinds(kinds, role: role)
            + ChannelChecks.target(kind: kind, url: body.url, secret: body.secret, addresses: body.addresses)
            + ChannelChecks.addresses(body.addresses)
        let generatedSecret = kind == .webhook && body.secret == nil ? WebhookSignature.newSecret() : nil
        let channel = try await pool.transaction(for: access) { connection in
            let store = ChannelStore(connection)
            if let url = body.url, kind != .email { problems += try await ChannelChecks.url(url, allowance: store.webhookAllowance(host:)) }
            guard problems.isEmpty else { throw AppError.invalid(problems) }
            let channel = try await store.create(
                NewDeliveryChannel(
                    branchId: body.branchId.map(Int.init), role: role, departmentId: body.departmentId.map(Int.init), kind: kind,
                    name: body.name, url: body.url, secret: body.secret ?? generatedSecret, addresses: body.addresses,
                    notificationKinds: kinds, enabled: body.enabled ?? true))
            try await AuditLog(connection).record(
                action: "delivery_channel.created", objectType: "delivery_channel", objectId: String(channel.id), branchId: channel.branchId,
                detail: try JSONB(encoding: ChannelAudit(channel)))
            return channel
        }
        var reply = Components.Schemas.DeliveryChannel(channel)
        reply.generatedSecret = generatedSecret
        return .created(.init(body: .json(reply)))
    }

    func updateDeliveryChannel(_ input: Operations.UpdateDeliveryChannel.Input) async throws -> Operations.UpdateDeliveryChannel.Output {
        let access = try authorize(.manageDeliveryChannels)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let kinds = body.notificationKinds.map { $0.compactMap { DeliveryKind(rawValue: $0.rawValue) } }
        var problems = body.name.map { Validate.text($0, field: "name") } ?? []
        problems += ChannelChecks.addresses(body.addresses)
        let channel = try await pool.transaction(for: access) { connection -> DeliveryChannel? in
            let store = ChannelStore(connection)
            guard let current = try await store.get(input.path.channelId) else { return nil }
            problems += ChannelChecks.target(
                kind: current.kind, url: body.url ?? current.url, secret: body.secret,
                addresses: body.addresses ?? (current.kind == .email ? current.addresses : nil))
            if let kinds { problems += ChannelChecks.kinds(kinds, role: current.role) }
            if let url = body.url, current.kind != .email { problems += try await ChannelChecks.url(url, allowance: store.webhookAllowance(host:)) }
            guard problems.isEmpty else { throw AppError.invalid(problems) }
            let channel = try await store.update(
                current.id,
                DeliveryChannelChange(
                    name: body.name, url: body.url, secret: body.secret, addresses: body.addresses, notificationKinds: kinds,
                    enabled: body.enabled))
            if let channel {
                try await AuditLog(connection).record(
                    action: "delivery_channel.updated", objectType: "delivery_channel", objectId: String(channel.id),
                    branchId: channel.branchId,
                    detail: try JSONB(encoding: ChannelAudit(channel, secretChanged: body.secret != nil)))
            }
            return channel
        }
        guard let channel else { throw AppError.notFound("channel") }
        return .ok(.init(body: .json(.init(channel))))
    }

    func removeDeliveryChannel(_ input: Operations.RemoveDeliveryChannel.Input) async throws -> Operations.RemoveDeliveryChannel.Output {
        let access = try authorize(.manageDeliveryChannels)
        let removed = try await pool.transaction(for: access) { connection -> Bool in
            let store = ChannelStore(connection)
            guard let channel = try await store.get(input.path.channelId), try await store.remove(channel.id) else { return false }
            try await AuditLog(connection).record(
                action: "delivery_channel.removed", objectType: "delivery_channel", objectId: String(channel.id), branchId: channel.branchId)
            return true
        }
        guard removed else { throw AppError.notFound("channel") }
        return .noContent(.init())
    }

    func listDeliveryHosts(_ input: Operations.ListDeliveryHosts.Input) async throws -> Operations.ListDeliveryHosts.Output {
        let access = try authorize(.manageDeliveryHosts)
        let hosts = try await pool.transaction(for: access, readOnly: true) { try await AllowedHostStore($0).list() }
        return .ok(.init(body: .json(hosts.map { .init($0) })))
    }

    func putDeliveryHost(_ input: Operations.PutDeliveryHost.Input) async throws -> Operations.PutDeliveryHost.Output {
        let access = try authorize(.manageDeliveryHosts)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        var problems = Validate.reason(body.reason)
        let allowHTTP = body.allowHttp ?? false, allowPrivate = body.allowPrivate ?? false
        if !allowHTTP && !allowPrivate { problems.append(.init("allowHttp", "allow http, private addresses or both")) }
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let host = input.path.host.lowercased()
        let (allowed, _) = try await pool.transaction(for: access) { connection in
            let result = try await AllowedHostStore(connection).put(host: host, allowHTTP: allowHTTP, allowPrivate: allowPrivate, reason: body.reason)
            try await AuditLog(connection).record(
                action: "delivery_host.allowed", objectType: "delivery_host", objectId: host, reason: body.reason,
                detail: try JSONB(encoding: ["allowHttp": allowHTTP, "allowPrivate": allowPrivate]))
            return result
        }
        return .ok(.init(body: .json(.init(allowed))))
    }

    func removeDeliveryHost(_ input: Operations.RemoveDeliveryHost.Input) async throws -> Operations.RemoveDeliveryHost.Output {
        let access = try authorize(.manageDeliveryHosts)
        let host = input.path.host.lowercased()
        let removed = try await pool.transaction(for: access) { connection -> Bool in
            guard try await AllowedHostStore(connection).remove(host: host) else { return false }
            try await AuditLog(connection).record(action: "delivery_host.withdrawn", objectType: "delivery_host", objectId: host)
            return true
        }
        guard removed else { throw AppError.notFound("host exception") }
        return .noContent(.init())
    }

    func listDeliveries(_ input: Operations.ListDeliveries.Input) async throws -> Operations.ListDeliveries.Output {
        let access = try authorize(.readDeliveryChannels)
        let before = try Cursors.id(input.query.after)
        let limit = try Cursors.limit(input.query.limit)
        let page = try await pool.transaction(for: access, readOnly: true) {
            try await DeliveryStore($0).list(state: input.query.state?.rawValue, channelId: input.query.channelId, before: before, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: page.items.map { .init($0) }, next: page.next))))
    }

    func getDelivery(_ input: Operations.GetDelivery.Input) async throws -> Operations.GetDelivery.Output {
        let access = try authorize(.readDeliveryChannels)
        guard let (delivery, attempts) = try await pool.transaction(for: access, readOnly: true, { try await DeliveryStore($0).get(input.path.deliveryId) })
        else { throw AppError.notFound("delivery") }
        return .ok(.init(body: .json(.init(delivery: .init(delivery), attempts: attempts.map { .init($0) }))))
    }

    func retryDelivery(_ input: Operations.RetryDelivery.Input) async throws -> Operations.RetryDelivery.Output {
        let access = try authorize(.manageDeliveryChannels)
        let result = try await pool.transaction(for: access) { connection in
            let result = try await DeliveryStore(connection).retry(input.path.deliveryId)
            if case .retried(let delivery) = result {
                try await AuditLog(connection).record(
                    action: "delivery.retried", objectType: "delivery", objectId: String(delivery.id), branchId: delivery.notificationBranchId)
            }
            return result
        }
        switch result {
        case .retried(let delivery): return .ok(.init(body: .json(.init(delivery))))
        case .notDead(let state): throw AppError.conflict("only a dead delivery is retried; this one is \(state)")
        case .notFound: throw AppError.notFound("delivery")
        }
    }
}

/// What the audit trail keeps of a channel: never its secret or its URL's query (robot keys).
private struct ChannelAudit: Encodable {
    var kind: String
    var branchId: Int?
    var role: String?
    var departmentId: Int?
    var url: String?
    var addresses: [String]?
    var notificationKinds: [String]
    var enabled: Bool
    var secretChanged: Bool?

    init(_ channel: DeliveryChannel, secretChanged: Bool? = nil) {
        kind = channel.kind.rawValue
        branchId = channel.branchId
        role = channel.role?.rawValue
        departmentId = channel.departmentId
        url = ChannelChecks.masked(channel.url)
        addresses = channel.addresses
        notificationKinds = channel.notificationKinds.map(\.rawValue)
        enabled = channel.enabled
        self.secretChanged = secretChanged
    }
}

extension Components.Schemas.DeliveryChannel {
    init(_ channel: DeliveryChannel) {
        self.init(
            id: channel.id, branchId: channel.branchId.map(Int32.init), role: channel.role.flatMap { .init(rawValue: $0.rawValue) },
            departmentId: channel.departmentId.map(Int32.init), kind: .init(rawValue: channel.kind.rawValue) ?? .webhook, name: channel.name,
            url: ChannelChecks.masked(channel.url), addresses: channel.addresses,
            notificationKinds: channel.notificationKinds.compactMap { .init(rawValue: $0.rawValue) }, enabled: channel.enabled,
            secretSet: channel.secretSet, createdAt: channel.createdAt, updatedAt: channel.updatedAt)
    }
}

extension Components.Schemas.DeliveryHost {
    init(_ host: AllowedHost) {
        self.init(host: host.host, allowHttp: host.allowHTTP, allowPrivate: host.allowPrivate, reason: host.reason, createdAt: host.createdAt)
    }
}

extension Components.Schemas.Delivery {
    init(_ delivery: Store.Delivery) {
        self.init(
            id: delivery.id, channelId: delivery.channelId, kind: .init(rawValue: delivery.kind.rawValue) ?? .handoff,
            state: .init(rawValue: delivery.state) ?? .pending, notificationId: delivery.notificationId,
            notificationBranchId: delivery.notificationBranchId.map(Int32.init), digestId: delivery.digestId,
            attempts: Int32(delivery.attempts), createdAt: delivery.createdAt, nextAttemptAt: delivery.nextAttemptAt,
            deliveredAt: delivery.deliveredAt, deadAt: delivery.deadAt, lastStatus: delivery.lastStatus.map(Int32.init),
            lastError: delivery.lastError)
    }
}

extension Components.Schemas.DeliveryAttempt {
    init(_ attempt: Store.DeliveryAttempt) {
        self.init(
            attempt: Int32(attempt.attempt), startedAt: attempt.startedAt, latencyMs: Int32(clamping: attempt.latencyMs),
            outcome: .init(rawValue: attempt.outcome) ?? .failed, statusCode: attempt.statusCode.map(Int32.init), error: attempt.error,
            responseExcerpt: attempt.responseExcerpt)
    }
}
