import Hummingbird
import Logging
import NIOCore

/// Per-request context; later issues add the signed-in staff member and their scopes.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }
}
