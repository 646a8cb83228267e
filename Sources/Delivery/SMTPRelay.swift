import Foundation

/// The server's SMTP relay, configured once for every e-mail channel (issue 21), from the environment:
/// `HUIFANG_SMTP_HOST`, `HUIFANG_SMTP_PORT` (587), `HUIFANG_SMTP_STARTTLS` (`required`, or `off` for a
/// relay on the same machine), `HUIFANG_SMTP_USERNAME`, `HUIFANG_SMTP_PASSWORD`, `HUIFANG_SMTP_FROM`.
public struct SMTPRelay: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var startTLS: Bool
    public var username: String?
    public var password: String?
    public var from: String

    public init(host: String, port: Int = 587, startTLS: Bool = true, username: String? = nil, password: String? = nil,
                from: String = "huifang@localhost") {
        self.host = host
        self.port = port
        self.startTLS = startTLS
        self.username = username
        self.password = password
        self.from = from
    }

    public struct ConfigurationError: Error, CustomStringConvertible {
        public var description: String
    }

    /// nil when no relay is configured (e-mail deliveries then fail, visibly, until one is).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SMTPRelay? {
        guard let host = environment["HUIFANG_SMTP_HOST"], !host.isEmpty else { return nil }
        var relay = SMTPRelay(host: host)
        if let port = environment["HUIFANG_SMTP_PORT"] {
            guard let value = Int(port), (1...65535).contains(value) else {
                throw ConfigurationError(description: "HUIFANG_SMTP_PORT must be a port number, not \(port)")
            }
            relay.port = value
        }
        switch environment["HUIFANG_SMTP_STARTTLS"] ?? "required" {
        case "required": relay.startTLS = true
        case "off": relay.startTLS = false
        case let other: throw ConfigurationError(description: "HUIFANG_SMTP_STARTTLS must be required or off, not \(other)")
        }
        relay.username = environment["HUIFANG_SMTP_USERNAME"].flatMap { $0.isEmpty ? nil : $0 }
        relay.password = environment["HUIFANG_SMTP_PASSWORD"]
        if relay.username != nil && relay.password == nil {
            throw ConfigurationError(description: "HUIFANG_SMTP_USERNAME is set without HUIFANG_SMTP_PASSWORD")
        }
        if relay.username != nil && !relay.startTLS {
            throw ConfigurationError(description: "credentials are never sent without STARTTLS: set HUIFANG_SMTP_STARTTLS=required")
        }
        relay.from = environment["HUIFANG_SMTP_FROM"] ?? "huifang@\(host)"
        return relay
    }
}
