import ArgumentParser
import Delivery
import Foundation

struct SinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink",
        abstract: "A webhook receiver and an SMTP server on 127.0.0.1 that print what Huifang delivers (for trying delivery by hand).",
        discussion: """
            Point a channel at http://127.0.0.1:PORT/hook (an admin allows the host 127.0.0.1 first: \
            PUT /delivery-hosts/127.0.0.1 or `huifang channels allow-host 127.0.0.1`), and the server's relay at the \
            SMTP port with HUIFANG_SMTP_HOST=127.0.0.1 HUIFANG_SMTP_PORT=PORT HUIFANG_SMTP_STARTTLS=off.
            """)

    @Option(help: "Port of the webhook receiver.") var port = 8099
    @Option(help: "Port of the SMTP server.") var smtpPort = 2525
    @Option(help: "The webhook's secret, to check each request's Huifang-Signature.") var secret: String?

    func run() async throws {
        let secret = secret
        let webhook = try await WebhookSink.start(port: port, observe: { request in
            let signature = request.header(OutboundRequest.signatureHeader)
            let verdict = switch (secret, signature) {
            case (nil, _): "not checked (no --secret)"
            case (_, nil): "MISSING"
            case (let secret?, let signature?): WebhookSignature.verify(header: signature, secret: secret, body: request.body) ? "valid" : "INVALID"
            }
            print("""
                ── webhook \(request.path) delivery \(request.header(OutboundRequest.idempotencyHeader) ?? "?"), signature \(verdict)
                \(String(decoding: request.body, as: UTF8.self))
                """)
            fflush(nil)
        })
        let smtp = try await SMTPSink.start(port: smtpPort, observe: { message in
            print("── e-mail from \(message.from) to \(message.recipients.joined(separator: ", ")): \(message.subject ?? "")\n\(message.data)")
            fflush(nil)
        })
        print("webhook receiver: \(webhook.url)\nSMTP server:      127.0.0.1:\(smtp.port)\nCtrl-C stops them.")
        fflush(nil)
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
