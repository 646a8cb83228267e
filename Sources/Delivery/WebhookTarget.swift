import Domain
import Foundation
import NIOCore
import NIOPosix
import Store

/// The safety rules for a webhook's URL (issue 21): https only, no credentials in it, and only public
/// addresses — unless an admin made an exception for the host. Checked when a channel is saved (the
/// URL as written) and again before every attempt (every address the name resolves to, then the
/// connection goes to an address that passed, so a DNS answer cannot change between check and use).
public struct WebhookTarget: Sendable, Equatable {
    public var scheme: String
    /// Lower-case, without brackets for IPv6.
    public var host: String
    public var port: Int
    /// Path and query, as sent in the request line.
    public var target: String

    /// The exceptions an admin made for a host (`delivery_allowed_hosts`).
    public struct Allowance: Sendable, Equatable {
        public var http: Bool
        public var privateAddresses: Bool
        public init(http: Bool = false, privateAddresses: Bool = false) {
            self.http = http
            self.privateAddresses = privateAddresses
        }
    }

    /// Parses `text`, or says why it is not a usable webhook URL (before any exception applies).
    public static func parse(_ text: String) -> Result<WebhookTarget, Refusal> {
        guard text.count <= 2000, !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7f }),
            let components = URLComponents(string: text), let scheme = components.scheme?.lowercased()
        else { return .failure(.init("must be an absolute URL without spaces, at most 2000 characters")) }
        guard scheme == "https" || scheme == "http" else { return .failure(.init("must be an https URL")) }
        guard components.user == nil, components.password == nil else {
            return .failure(.init("must not carry a user name or password; the channel's secret signs the requests"))
        }
        guard var host = components.percentEncodedHost?.lowercased(), !host.isEmpty else { return .failure(.init("must name a host")) }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        guard components.fragment == nil else { return .failure(.init("must not have a #fragment")) }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { return .failure(.init("has an impossible port")) }
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }
        return .success(WebhookTarget(scheme: scheme, host: host, port: port, target: target))
    }

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The rules that can be judged from the URL itself: the scheme, and an address written as the host
    /// (or a name that is the machine itself). Names are judged by what they resolve to, at delivery.
    public func refusal(allowance: Allowance) -> Refusal? {
        if scheme == "http" && !allowance.http {
            return Refusal("must be https (an admin can allow http for the host \(host))")
        }
        guard !allowance.privateAddresses else { return nil }
        if host == "localhost" || host.hasSuffix(".localhost") {
            return Refusal("names the machine itself (an admin can allow the host \(host))")
        }
        if let bytes = IPAddressLiteral.bytes(host), let restriction = NetworkAddress.restriction(bytes) {
            return Refusal("points at a \(restriction) address (an admin can allow the host \(host))")
        }
        return nil
    }

    /// Resolves the host and returns the addresses the request may connect to, in the resolver's order;
    /// refuses when any of them is restricted (a name that resolves to a private address among public
    /// ones is no safer).
    public func resolve(allowance: Allowance) async throws -> [SocketAddress] {
        if let refusal = refusal(allowance: allowance) { throw refusal }
        let addresses = try await NIOThreadPool.singleton.runIfActive {
            try Self.lookUp(host: host, port: port)
        }
        guard !addresses.isEmpty else { throw Refusal("the name \(host) resolves to no address") }
        if !allowance.privateAddresses {
            for address in addresses {
                if let bytes = address.rawBytes, let restriction = NetworkAddress.restriction(bytes) {
                    throw Refusal("\(host) resolves to a \(restriction) address (an admin can allow the host)")
                }
            }
        }
        return addresses
    }

    private static func lookUp(host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw Refusal("the name \(host) does not resolve (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                switch Int32(info.pointee.ai_family) {
                case AF_INET:
                    addresses.append(address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: host) })
                case AF_INET6:
                    addresses.append(address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: host) })
                default: break
                }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}

extension SocketAddress {
    /// The address's bytes (4 or 16), for the restriction check.
    var rawBytes: [UInt8]? {
        switch self {
        case .v4(let address):
            var raw = address.address.sin_addr
            return withUnsafeBytes(of: &raw) { Array($0) }
        case .v6(let address):
            var raw = address.address.sin6_addr
            return withUnsafeBytes(of: &raw) { Array($0) }
        case .unixDomainSocket:
            return nil
        }
    }
}

extension ChannelStore {
    /// The exceptions an admin made for `host`, as the safety rules take them.
    public func webhookAllowance(host: String) async throws -> WebhookTarget.Allowance {
        let allowance = try await allowance(host: host)
        return WebhookTarget.Allowance(http: allowance.http, privateAddresses: allowance.privateAddresses)
    }
}
