import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A webhook receiver on 127.0.0.1 for tests, benchmarks and trying delivery by hand (`huifang sink`):
/// records every request and answers as `respond` says — a status, or never (to test timeouts).
public final class WebhookSink: Sendable {
    public struct Request: Sendable {
        public var path: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var receivedAt: Date

        public func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
    }

    public enum Answer: Sendable {
        case status(Int, body: String = "")
        /// Keep the connection open without answering.
        case never
    }

    public let port: Int
    private let channel: any Channel
    private let requests = NIOLockedValueBox<[Request]>([])
    private let respond: @Sendable (_ number: Int, Request) -> Answer
    private let observe: (@Sendable (Request) -> Void)?

    /// Listens on 127.0.0.1:`port` (0: any free port); `respond` gets the request's 1-based number.
    public static func start(
        port: Int = 0, observe: (@Sendable (Request) -> Void)? = nil,
        respond: @escaping @Sendable (_ number: Int, Request) -> Answer = { _, _ in .status(200, body: "ok") }
    ) async throws -> WebhookSink {
        let box = NIOLockedValueBox<WebhookSink?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(sink: { box.withLockedValue { $0 } }))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        let sink = WebhookSink(channel: channel, respond: respond, observe: observe)
        box.withLockedValue { $0 = sink }
        return sink
    }

    private init(channel: any Channel, respond: @escaping @Sendable (Int, Request) -> Answer, observe: (@Sendable (Request) -> Void)?) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.respond = respond
        self.observe = observe
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    public var received: [Request] { requests.withLockedValue { $0 } }

    /// Waits until at least `count` requests arrived (failing after `timeout`).
    public func waitForRequests(_ count: Int, timeout: Duration = .seconds(60)) async throws -> [Request] {
        try await waitForCount(count, of: "requests", timeout: timeout) { received }
    }

    public func stop() async {
        try? await channel.close()
    }

    fileprivate func answer(_ request: Request) -> Answer {
        let number = requests.withLockedValue { requests in
            requests.append(request)
            return requests.count
        }
        observe?(request)
        return respond(number, request)
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let sink: @Sendable () -> WebhookSink?
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(sink: @escaping @Sendable () -> WebhookSink?) { self.sink = sink }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head, let sink = sink() else { return }
                let request = Request(path: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body, receivedAt: Date())
                guard case .status(let code, let text) = sink.answer(request) else { return }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: String(text.utf8.count))
                headers.add(name: "Content-Type", value: "text/plain")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

public struct SinkTimeout: Error, CustomStringConvertible {
    public var description: String
}

/// Polls what a sink has received until there are `count` of them.
func waitForCount<T>(_ count: Int, of what: String, timeout: Duration, _ read: () -> [T]) async throws -> [T] {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let now = read()
        if now.count >= count { return now }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw SinkTimeout(description: "the sink got \(read().count) of \(count) \(what)")
}
