import Domain
import Foundation
import Postgres
import Synchronization

/// The session a request runs in: who, with which grants (by digest), behind which token. Set
/// around the request by the server; every scoped transaction it opens first asks
/// `huifang.check_session` whether the session is still live and its grants unchanged, in the same
/// round trip as BEGIN and the scope (`Pool.transaction(for:)`).
public struct RequestSession: Sendable {
    @TaskLocal public static var current: RequestSession?

    public let tokenHash: Data
    public let principal: Principal
    public let expiresAt: Date
    public let grantsDigest: String
    /// Set once a statement of this request checked the session against the database (one per
    /// request: see `forRequest`).
    public private(set) var checked = Checked()
    /// Where the server keeps sessions between requests, to forget or renew this one.
    public var cache: SessionCache?

    public init(tokenHash: Data, principal: Principal, expiresAt: Date, grantsDigest: String, cache: SessionCache? = nil) {
        self.tokenHash = tokenHash
        self.principal = principal
        self.expiresAt = expiresAt
        self.grantsDigest = grantsDigest
        self.cache = cache
    }

    /// This session for one more request, not yet checked.
    public func forRequest() -> RequestSession {
        var copy = self
        copy.checked = Checked()
        return copy
    }

    /// The statement that fails (28000) unless the session is live with these grants.
    public var check: SQL {
        "select huifang.check_session(\(tokenHash), \(principal.staffId), \(grantsDigest))"
    }

    public final class Checked: Sendable {
        private let flag = Atomic<Bool>(false)
        public var value: Bool { flag.load(ordering: .acquiring) }
        public func mark() { flag.store(true, ordering: .releasing) }
    }
}

extension PostgresError {
    /// `huifang.check_session` found the session ended (signed out, expired, revoked, staff inactive).
    public var isSessionEnded: Bool { sqlState == "28000" && constraint == "session_ended" }
    /// `huifang.check_session` found the session's grants changed since the server read them.
    public var isSessionGrantsChanged: Bool { sqlState == "28000" && constraint == "session_grants_changed" }
}
