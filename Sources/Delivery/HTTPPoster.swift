import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 POST to an address that has passed the safety check, with TLS (verified against the
/// URL's host name) for https. Redirects are not followed: a 3xx is the receiver's answer, reported
/// as a failure. The response body is read only as far as the excerpt kept.
public struct HTTPPoster: Sendable {
    public struct Timeouts: Sendable {
        public var connect: Duration
        /// From the connection to the end of the response.
        public var response: Duration
        public init(connect: Duration = .seconds(5), response: Duration = .seconds(10)) {
            self.connect = connect
            self.response = response
        }
    }

    public struct Response: Sendable, Equatable {
        public var status: Int
        /// The first `excerptLimit` characters of the body.
        public var excerpt: String
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static let excerptLimit = 200
    public var timeouts: Timeouts
    private let tls: NIOSSLContext

    public init(timeouts: Timeouts = .init()) throws {
        self.timeouts = timeouts
        tls = try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    public func post(to addresses: [SocketAddress], target: WebhookTarget, request: OutboundRequest) async throws -> Response {
        var lastError: any Error = Failure(description: "no address to connect to")
        for address in addresses {
            let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
            do {
                channel = try await connect(address, target: target)
            } catch {
                lastError = Failure(description: "cannot connect to \(address): \(error)")
                continue
            }
            return try await exchange(on: channel, target: target, request: request)
        }
        throw lastError
    }

    private func connect(_ address: SocketAddress, target: WebhookTarget) async throws
        -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
    {
        let tls = target.scheme == "https" ? self.tls : nil
        // SNI and certificate checks need a name; an address written as the host is checked as such.
        let serverName = IPAddressLiteral.bytes(target.host) == nil ? target.host : nil
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(Int64(timeouts.connect.components.seconds) * 1_000_000_000
                                         + timeouts.connect.components.attoseconds / 1_000_000_000))
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
    }

    private func exchange(
        on channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, target: WebhookTarget, request: OutboundRequest
    ) async throws -> Response {
        let underlying = channel.channel
        let responseTimeout = timeouts.response
        return try await withThrowingTaskGroup(of: Response?.self) { group in
            group.addTask {
                try await Task.sleep(for: responseTimeout)
                return nil
            }
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.requestTarget(extraQuery: request.extraQuery))
                    head.headers.add(name: "Host", value: target.hostHeader)
                    head.headers.add(name: "User-Agent", value: "huifang-delivery/1")
                    head.headers.add(name: "Content-Length", value: String(request.body.count))
                    head.headers.add(name: "Connection", value: "close")
                    for (name, value) in request.headers { head.headers.add(name: name, value: value) }
                    try await outbound.write(.head(head))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: request.body))))
                    try await outbound.write(.end(nil))
                    var status: Int?
                    var excerpt: [UInt8] = []
                    for try await part in inbound {
                        switch part {
                        case .head(let response): status = Int(response.status.code)
                        case .body(var buffer):
                            let room = Self.excerptLimit * 4 - excerpt.count
                            if room > 0, let bytes = buffer.readBytes(length: min(room, buffer.readableBytes)) { excerpt += bytes }
                        case .end:
                            guard let status else { throw Failure(description: "the response had no status line") }
                            return Response(status: status, excerpt: String(String(decoding: excerpt, as: UTF8.self).prefix(Self.excerptLimit)))
                        }
                    }
                    throw Failure(description: "the connection closed before the response ended")
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                underlying.close(promise: nil)
                throw Failure(description: "no response within \(responseTimeout)")
            }
            return response
        }
    }
}

extension WebhookTarget {
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        let standard = (scheme == "https" && port == 443) || (scheme == "http" && port == 80)
        return standard ? name : "\(name):\(port)"
    }

    func requestTarget(extraQuery: String?) -> String {
        guard let extraQuery else { return target }
        return target + (target.contains("?") ? "&" : "?") + extraQuery
    }
}
