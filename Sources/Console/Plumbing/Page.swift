import Foundation
import HTTPTypes
import Hummingbird

/// What a handler renders: the title, the main content, and a notice on top (an error, or what was done).
struct Page: Sendable {
    var title: String
    var body: HTML
    var status: HTTPResponse.Status = .ok
    var notice: Notice?
    /// The navigation entry to mark as current.
    var section: Section = .work

    enum Section: Sendable { case work, tasks, records, problems, inbox, monitoring, clients, audit }
}

struct Notice: Sendable {
    enum Kind: String, Sendable { case error, done }
    var kind: Kind
    var text: HTML
}

extension Response {
    static func html(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8",
                // Pages load only the console's stylesheet and post only to the console; nothing runs.
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html.text)))
    }
}
