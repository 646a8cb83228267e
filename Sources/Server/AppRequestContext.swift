import Hummingbird
import Logging
import NIOCore

/// Per-request context: the signed-in staff member travels in task locals (`RequestPrincipal`).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address; nil when there is no socket (tests over the router).
    public var peerAddress: String?
    /// Whether the client's connection is still open.
    public var isConnected: (@Sendable () -> Bool)?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
        // Only a live socket is watched (the router test transport's channel never is one).
        let channel = source.channel
        if channel.isActive {
            self.isConnected = { @Sendable in channel.isActive }
        } else {
            self.isConnected = nil
        }
    }
}
