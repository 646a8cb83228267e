import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An SMTP server on 127.0.0.1 that accepts every message and keeps it (no TLS: run the relay with
/// `HUIFANG_SMTP_STARTTLS=off` against it), for tests and for trying delivery by hand.
public final class SMTPSink: Sendable {
    public struct Message: Sendable {
        public var from: String
        public var recipients: [String]
        /// The DATA, dot-unstuffed, lines joined with CRLF.
        public var data: String

        /// The decoded subject line.
        public var subject: String? {
            guard let line = data.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("Subject: ") }) else { return nil }
            let value = String(line.dropFirst("Subject: ".count))
            if value.hasPrefix("=?UTF-8?B?"), value.hasSuffix("?="),
                let decoded = Data(base64Encoded: String(value.dropFirst(10).dropLast(2)))
            {
                return String(decoding: decoded, as: UTF8.self)
            }
            return value
        }
    }

    public let port: Int
    private let channel: any Channel
    private let messages = NIOLockedValueBox<[Message]>([])
    private let observe: (@Sendable (Message) -> Void)?

    public static func start(port: Int = 0, observe: (@Sendable (Message) -> Void)? = nil) async throws -> SMTPSink {
        let box = NIOLockedValueBox<SMTPSink?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.addHandler(Session(keep: { message in box.withLockedValue { $0 }?.keep(message) }))
            }
            .bind(host: "127.0.0.1", port: port).get()
        let sink = SMTPSink(channel: channel, observe: observe)
        box.withLockedValue { $0 = sink }
        return sink
    }

    private init(channel: any Channel, observe: (@Sendable (Message) -> Void)?) {
        self.channel = channel
        port = channel.localAddress?.port ?? 0
        self.observe = observe
    }

    public var received: [Message] { messages.withLockedValue { $0 } }

    public func waitForMessages(_ count: Int, timeout: Duration = .seconds(60)) async throws -> [Message] {
        try await waitForCount(count, of: "messages", timeout: timeout) { received }
    }

    public func stop() async {
        try? await channel.close()
    }

    private func keep(_ message: Message) {
        messages.withLockedValue { $0.append(message) }
        observe?(message)
    }

    private final class Session: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let keep: @Sendable (Message) -> Void
        var pending = ByteBuffer()
        var from = ""
        var recipients: [String] = []
        var data: [String]?

        init(keep: @escaping @Sendable (Message) -> Void) { self.keep = keep }

        func channelActive(context: ChannelHandlerContext) {
            reply(context, "220 huifang sink ready")
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending.writeBuffer(&buffer)
            while let line = pending.readLine() { handle(line, context) }
        }

        private func handle(_ line: String, _ context: ChannelHandlerContext) {
            if var lines = data {
                if line == "." {
                    keep(Message(from: from, recipients: recipients, data: lines.joined(separator: "\r\n")))
                    self.data = nil
                    recipients = []
                    reply(context, "250 queued")
                } else {
                    lines.append(line.hasPrefix("..") ? String(line.dropFirst()) : line)
                    self.data = lines
                }
                return
            }
            let verb = line.prefix(4).uppercased()
            switch verb {
            case "EHLO", "HELO": reply(context, "250-huifang sink\r\n250 8BITMIME")
            case "MAIL":
                from = Self.address(line)
                reply(context, "250 ok")
            case "RCPT":
                recipients.append(Self.address(line))
                reply(context, "250 ok")
            case "DATA":
                data = []
                reply(context, "354 end with a dot")
            case "QUIT":
                reply(context, "221 bye")
                context.close(promise: nil)
            case "RSET", "NOOP": reply(context, "250 ok")
            default: reply(context, "502 not implemented")
            }
        }

        private static func address(_ line: String) -> String {
            guard let open = line.firstIndex(of: "<"), let close = line.lastIndex(of: ">"), open < close else { return "" }
            return String(line[line.index(after: open)..<close])
        }

        private func reply(_ context: ChannelHandlerContext, _ text: String) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
        }
    }
}
