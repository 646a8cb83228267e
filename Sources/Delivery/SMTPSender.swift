import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one message through the relay: EHLO, STARTTLS when configured (then EHLO again), AUTH PLAIN
/// with credentials, MAIL FROM, RCPT TO each address, DATA, QUIT — with a deadline on the whole
/// conversation.
public struct SMTPSender: Sendable {
    public var relay: SMTPRelay
    public var timeout: Duration
    private let tls: NIOSSLContext

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// The reply code that refused, when the relay gave one.
        public var code: Int?
    }

    public init(relay: SMTPRelay, timeout: Duration = .seconds(30)) throws {
        self.relay = relay
        self.timeout = timeout
        tls = try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    /// Returns the relay's last reply code (250 when queued).
    public func send(to recipients: [String], subject: String, text: String, messageId: String) async throws -> Int {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: relay.host, port: relay.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let underlying = channel.channel
        let deadline = timeout
        return try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var conversation = Conversation(inbound: inbound.makeAsyncIterator(), outbound: outbound)
                    return try await converse(&conversation, channel: underlying, recipients: recipients, subject: subject,
                                              text: text, messageId: messageId)
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let code = first else {
                underlying.close(promise: nil)
                throw Failure(description: "the SMTP relay did not finish within \(deadline)")
            }
            return code
        }
    }

    private func converse(
        _ smtp: inout Conversation, channel: any Channel, recipients: [String], subject: String, text: String, messageId: String
    ) async throws -> Int {
        try await smtp.expect([220])
        try await smtp.command("EHLO huifang", expect: 250)
        if relay.startTLS {
            try await smtp.command("STARTTLS", expect: 220)
            let tls = tls
            let name = IPAddressLiteral.bytes(relay.host) == nil ? relay.host : nil
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: name), position: .first)
            }.get()
            try await smtp.command("EHLO huifang", expect: 250)
        }
        if let username = relay.username, let password = relay.password {
            let token = Data(("\0" + username + "\0" + password).utf8).base64EncodedString()
            try await smtp.command("AUTH PLAIN " + token, expect: 235)
        }
        try await smtp.command("MAIL FROM:<\(relay.from)>", expect: 250)
        for recipient in recipients {
            try await smtp.command("RCPT TO:<\(recipient)>", expect: 250, 251)
        }
        try await smtp.command("DATA", expect: 354)
        let code = try await smtp.command(message(to: recipients, subject: subject, text: text, messageId: messageId) + "\r\n.", expect: 250)
        _ = try? await smtp.command("QUIT", expect: 221)
        return code
    }

    /// RFC 5322 text, UTF-8, the subject encoded (RFC 2047), lines starting with a dot doubled (RFC 5321 §4.5.2).
    func message(to recipients: [String], subject: String, text: String, messageId: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let body = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        return [
            "From: \(relay.from)",
            "To: \(recipients.joined(separator: ", "))",
            "Subject: =?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?=",
            "Date: \(formatter.string(from: Date()))",
            "Message-ID: <\(messageId)@huifang>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            body,
        ].joined(separator: "\r\n")
    }

    struct Conversation {
        var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var pending = ByteBuffer()

        /// Reads one reply (its continuation lines `250-…` included) and checks its code.
        @discardableResult
        mutating func expect(_ codes: [Int], after label: String? = nil) async throws -> Int {
            while true {
                while let reply = pending.readLine() {
                    guard reply.count >= 3, let code = Int(reply.prefix(3)) else {
                        throw Failure(description: "the SMTP relay said something that is not a reply: \(reply.prefix(100))")
                    }
                    if reply.count > 3 && reply[reply.index(reply.startIndex, offsetBy: 3)] == "-" { continue }
                    guard codes.contains(code) else {
                        let what = label.map { " \($0)" } ?? ""
                        throw Failure(description: "the SMTP relay refused\(what): \(reply.prefix(200))", code: code)
                    }
                    return code
                }
                guard var more = try await inbound.next() else { throw Failure(description: "the SMTP relay closed the connection") }
                pending.writeBuffer(&more)
            }
        }

        @discardableResult
        mutating func command(_ line: String, expect codes: Int...) async throws -> Int {
            try await outbound.write(ByteBuffer(string: line + "\r\n"))
            // Named by its verb only: AUTH's argument is a credential, DATA's the message.
            let verb = line.hasPrefix("MAIL") || line.hasPrefix("RCPT") || line.hasPrefix("From:") ? String(line.prefix(4)) : String(line.split(separator: " ").first ?? "")
            return try await expect(codes, after: verb)
        }
    }
}

extension ByteBuffer {
    /// The next CRLF- (or LF-) terminated line, without its terminator; nil until one is complete.
    mutating func readLine() -> String? {
        guard let newline = readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let length = newline - readerIndex
        guard var line = readString(length: length) else { return nil }
        moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}
