import Hummingbird
import Logging
import NIOCore

/// Per-request context: the signed-in staff member travels in task locals (`RequestPrincipal`).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address; nil when there is no socket (tests over the router).
    public var peerAddress: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }
}
