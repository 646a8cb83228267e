import ArgumentParser
import Delivery
import Domain
import Logging
import Store

struct ChannelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channels",
        abstract: "Delivery channels and host exceptions, as the database owner (the API is the admins' way: /delivery-channels).",
        subcommands: [List.self, Add.self, AllowHost.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Every channel.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let logger = Logger(label: "huifang.channels")
            try await database.withDatabase(logger: logger) { environment in
                _ = try await environment.migrate(logger: logger)
                for channel in try await environment.withOwnerPool(logger: logger, { try await OwnerChannels(pool: $0).list() }) {
                    let owner = channel.branchId.map { "branch \($0) \(channel.role?.rawValue ?? "")" } ?? "department \(channel.departmentId ?? 0)"
                    let target = channel.url ?? channel.addresses?.joined(separator: ", ") ?? ""
                    print("\(channel.id)\t\(owner)\t\(channel.kind.rawValue)\t\(target)\t\(channel.notificationKinds.map(\.rawValue).joined(separator: ","))"
                          + (channel.enabled ? "" : "\t(disabled)"))
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a channel for a branch role (--branch --role) or an HQ department (--department).")

        @Option(help: "Branch code, with --role.") var branch: String?
        @Option(help: "Branch role the channel serves.") var role: String?
        @Option(help: "HQ department code.") var department: String?
        @Option(help: "webhook, wecom, dingtalk or email.") var kind: String
        @Option(help: "Name shown in the API.") var name = "channel"
        @Option(help: "The URL (webhook, wecom, dingtalk).") var url: String?
        @Option(help: "The signing secret (webhook: generated when absent; dingtalk: SEC…).") var secret: String?
        @Option(help: "E-mail addresses, comma-separated (email).") var addresses: String?
        @Option(help: "Comma-separated: warning, breach, escalation, handoff, digest.") var kinds = "breach,escalation"
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard let kind = ChannelKind(rawValue: kind) else { throw CLIError("--kind must be webhook, wecom, dingtalk or email") }
            let role = try role.map { text in
                guard let role = Role(rawValue: text), role.scope == .branch else { throw CLIError("--role must be a branch role") }
                return role
            }
            guard (branch != nil && role != nil) != (department != nil) else { throw CLIError("give --branch with --role, or --department") }
            let deliveryKinds = try kinds.split(separator: ",").map { text in
                guard let kind = DeliveryKind(rawValue: String(text)) else { throw CLIError("unknown kind \(text) in --kinds") }
                return kind
            }
            if let url {
                if case .failure(let refusal) = WebhookTarget.parse(url) { throw CLIError("the URL \(refusal)") }
            }
            let secret = secret ?? (kind == .webhook ? WebhookSignature.newSecret() : nil)
            let logger = Logger(label: "huifang.channels")
            try await database.withDatabase(logger: logger) { environment in
                _ = try await environment.migrate(logger: logger)
                let channel = try await environment.withOwnerPool(logger: logger) { pool in
                    do {
                        return try await OwnerChannels(pool: pool).add(
                            NewDeliveryChannel(
                                branchId: nil, role: role, departmentId: nil, kind: kind, name: name, url: url, secret: secret,
                                addresses: addresses.map { $0.split(separator: ",").map(String.init) }, notificationKinds: deliveryKinds),
                            branchCode: branch, departmentCode: department)
                    } catch let error as OwnerChannels.ScopeError {
                        throw CLIError(error.description)
                    }
                }
                print("channel \(channel.id) added" + (kind == .webhook && self.secret == nil ? "; its secret (shown once): \(secret ?? "")" : ""))
            }
        }
    }

    struct AllowHost: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allow-host", abstract: "Let webhooks reach a host over http and/or at private, loopback or link-local addresses.")

        @Argument(help: "Host name or IP address.") var host: String
        @Flag(help: "Allow plain http.") var http = false
        @Flag(name: .customLong("private"), help: "Allow private, loopback and link-local addresses.") var privateAddresses = false
        @Option(help: "Why (kept in the audit trail).") var reason: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard http || privateAddresses else { throw CLIError("give --http, --private or both") }
            guard reason.count >= 4 else { throw CLIError("--reason must say why in at least 4 characters") }
            let logger = Logger(label: "huifang.channels")
            try await database.withDatabase(logger: logger) { environment in
                _ = try await environment.migrate(logger: logger)
                try await environment.withOwnerPool(logger: logger) {
                    try await OwnerChannels(pool: $0).allow(host: host, http: http, privateAddresses: privateAddresses, reason: reason)
                }
                print("webhooks may reach \(host.lowercased())" + (http ? " over http" : "") + (privateAddresses ? " at private addresses" : ""))
            }
        }
    }
}
