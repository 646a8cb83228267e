import Hummingbird

/// Cancels the handling of a request when its client goes away: Hummingbird lets a handler run on
/// after the connection closed, and so would its database statement, holding a connection (and
/// perhaps locks) for an answer nobody reads. Cancelling the task cancels the statement (`PQcancel`).
/// The connection is looked at every quarter second while the handler runs (a callback on its close
/// would stay registered for the life of a keep-alive connection, one per request).
struct CancelOnDisconnectMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let isConnected = context.isConnected else { return try await next(request, context) }
        return try await withoutActuallyEscaping(next) { next in
            let handler = UncheckedSendable(next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await handler.value(request, context) }
                group.addTask {
                    while isConnected() {
                        do { try await Task.sleep(for: .milliseconds(250)) } catch { break }
                    }
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw CancellationError()
                }
                return response
            }
        }
    }
}

/// The handler closure, which lives only as long as this middleware's structured task group.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
