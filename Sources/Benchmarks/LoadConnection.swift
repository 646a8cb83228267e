import NIOCore
import NIOHTTP1
import NIOPosix

/// One request of the load generator: everything but the connection it goes over.
struct LoadRequest: Sendable {
    var method: HTTPMethod
    var path: String
    var token: String?
    var json: [UInt8]?
    var ifMatch: String?
}

/// What the server answered: the status and the body (the ids the next phase needs are in it).
struct LoadAnswer: Sendable {
    var status: Int
    var body: ByteBuffer

    var succeeded: Bool { (200..<300).contains(status) }
}

/// One keep-alive HTTP/1.1 connection of the load generator, one request at a time (no
/// pipelining), as a browser or wrk sends them. SwiftNIO rather than URLSession: on Linux
/// URLSession goes through libcurl and a dispatch queue per task and costs several times the CPU
/// per request, which on a 2-core machine the server would pay for.
final class LoadConnection {
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private var responses: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let host: String

    private init(
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
        responses: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator, host: String
    ) {
        self.outbound = outbound
        self.responses = responses
        self.host = host
    }

    /// Connects to `host:port` on `group`, runs `body` with the connection and closes it.
    static func with<T: Sendable>(
        host: String, port: Int, group: any EventLoopGroup, _ body: (LoadConnection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(LoadConnection(outbound: outbound, responses: inbound.makeAsyncIterator(), host: "\(host):\(port)"))
        }
    }

    /// Sends `request` and reads its whole answer.
    func send(_ request: LoadRequest) async throws -> LoadAnswer {
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.path)
        head.headers.add(name: "Host", value: host)
        if let token = request.token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let ifMatch = request.ifMatch { head.headers.add(name: "If-Match", value: ifMatch) }
        if let json = request.json {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(json.count))
            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: json))), .end(nil)])
        } else {
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
        }
        var status: Int?
        var body = ByteBuffer()
        while let part = try await responses.next() {
            switch part {
            case .head(let response): status = Int(response.status.code)
            case .body(var chunk): body.writeBuffer(&chunk)
            case .end:
                guard let status else { throw BenchmarkError("an HTTP answer ended before its head") }
                return LoadAnswer(status: status, body: body)
            }
        }
        throw BenchmarkError("the server closed the connection")
    }
}
