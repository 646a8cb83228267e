import NIOCore

/// Closes a connection whose client closed its side. Hummingbird keeps half-closed connections
/// open (so a client may shut down its output and still read the answer); an API client that
/// closes has given up, and the connection going inactive is what lets
/// `CancelOnDisconnectMiddleware` cancel its request's statement.
final class CloseOnInputClosedHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
