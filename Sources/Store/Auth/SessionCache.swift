import Foundation
import Synchronization

/// Sessions this server read recently, by token hash, so a request need not spend a round trip and
/// a connection on reading its session again. Never trusted alone: each request's first scoped
/// statement checks the session against the database (`RequestSession.check`); a session found
/// ended or changed is forgotten. Entries live `lifetime` at most and never past the session's expiry.
public final class SessionCache: Sendable {
    private struct Entry {
        var session: RequestSession
        var storedAt: ContinuousClock.Instant
    }

    private let entries = Mutex<[Data: Entry]>([:])
    private let lifetime: Duration
    private let capacity: Int

    public init(lifetime: Duration = .seconds(30), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    public func session(for tokenHash: Data, now: Date = Date()) -> RequestSession? {
        let instant = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[tokenHash] else { return nil }
            guard instant - entry.storedAt < lifetime, entry.session.expiresAt > now else {
                entries[tokenHash] = nil
                return nil
            }
            return entry.session
        }
    }

    public func store(_ session: RequestSession) {
        let instant = ContinuousClock.now
        entries.withLock { entries in
            if entries.count >= capacity {
                // Full: drop what has lived longest (a burst of sign-ins must not grow it without bound).
                let expired = entries.filter { instant - $0.value.storedAt >= lifetime }.map(\.key)
                expired.forEach { entries[$0] = nil }
                if entries.count >= capacity, let oldest = entries.min(by: { $0.value.storedAt < $1.value.storedAt })?.key {
                    entries[oldest] = nil
                }
            }
            entries[session.tokenHash] = Entry(session: session, storedAt: instant)
        }
    }

    /// Reads the session behind `tokenHash` afresh and remembers it; nil (and forgotten) when it has ended.
    public func read(_ tokenHash: Data, with auth: AuthStore) async throws -> RequestSession? {
        forget(tokenHash)
        guard var session = try await auth.session(tokenHash: tokenHash) else { return nil }
        session.cache = self
        store(session)
        return session
    }

    public func forget(_ tokenHash: Data) {
        entries.withLock { $0[tokenHash] = nil }
    }
}
