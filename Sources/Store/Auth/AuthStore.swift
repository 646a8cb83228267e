import Domain
import Foundation
import Postgres

/// Sign-in, sessions and passwords, through the SECURITY DEFINER functions of
/// sql/0003_organization.sql: the request role never reads hashes or sessions itself.
public struct AuthStore: Sendable {
    public let pool: Pool

    public init(pool: Pool) {
        self.pool = pool
    }

    public struct Credential: Sendable {
        public var staffId: Int64
        public var passwordHash: String
        public var active: Bool
        public var lockedUntil: Date?
    }

    public enum Outcome: String, Sendable {
        case ok, invalid, locked, inactive, throttled
    }

    /// Asked before a password is checked: `.throttled` or `.locked` (with the seconds to wait) when
    /// the address or the employee number may not try now, nil when it may.
    public func gate(employeeNo: String, sourceAddress: String?) async throws -> (outcome: Outcome, retryAfter: Int?)? {
        let row = try await pool.query("select * from huifang.sign_in_gate(\(employeeNo), \(sourceAddress))").single()
        let outcome: String = try row.decode(0)
        return outcome == "open" ? nil : (Outcome(rawValue: outcome) ?? .locked, try row.decode(1))
    }

    /// One sign-in attempt (`staffId` nil for an unknown employee number, which goes through the
    /// very same statement): throttled per source address, locked per employee number; on `.ok` the
    /// session with `tokenHash` exists. `retryAfter` comes with `.locked` and `.throttled`.
    public func signIn(
        employeeNo: String, sourceAddress: String?, staffId: Int64?, passwordOK: Bool, tokenHash: Data, lifetime: Duration
    ) async throws -> (outcome: Outcome, retryAfter: Int?) {
        let seconds = Int(lifetime.components.seconds)
        let row = try await pool.query(
            """
            select * from huifang.sign_in(\(employeeNo), \(sourceAddress), \(staffId), \(passwordOK), \(tokenHash), \(seconds))
            """
        ).single()
        return (Outcome(rawValue: try row.decode(0)) ?? .invalid, try row.decode(1))
    }

    public struct LiveSession: Sendable {
        public var id: Int64
        public var createdAt: Date
        public var expiresAt: Date
        public var sourceAddress: String?
        public var isCurrent: Bool
    }

    /// The live sessions of a staff member, inside the caller's scoped transaction (own, or admin).
    public static func sessions(of staffId: Int64, currentTokenHash: Data?, on connection: Connection) async throws -> [LiveSession] {
        try await connection.query("select * from huifang.sessions_of(\(staffId), \(currentTokenHash))").map {
            LiveSession(
                id: try $0.decode(0), createdAt: try $0.decode(1), expiresAt: try $0.decode(2), sourceAddress: try $0.decode(3),
                isCurrent: try $0.decode(4, as: Bool?.self) ?? false)
        }
    }

    /// Revokes a live session the caller may revoke; returns its staff member, nil when there is none.
    public static func revokeSession(_ id: Int64, on connection: Connection) async throws -> Int64? {
        try await connection.query("select huifang.revoke_session(\(id))").single().decode(0)
    }

    public func credential(employeeNo: String) async throws -> Credential? {
        let rows = try await pool.read("select * from huifang.sign_in_credential(\(employeeNo))")
        guard let row = rows.first else { return nil }
        return Credential(
            staffId: try row.decode(0), passwordHash: try row.decode(1), active: try row.decode(2),
            lockedUntil: try row.decode(3))
    }

    /// Records a password check; on `.ok` the session with `tokenHash` exists and lasts `lifetime`
    /// by the database's clock.
    public func record(staffId: Int64, passwordOK: Bool, tokenHash: Data, lifetime: Duration) async throws -> Outcome {
        let seconds = Int(lifetime.components.seconds)
        let row = try await pool.query(
            "select huifang.sign_in_record(\(staffId), \(passwordOK), \(tokenHash), \(seconds))"
        ).single()
        let outcome: String = try row.decode(0)
        return Outcome(rawValue: outcome) ?? .invalid
    }

    /// The live session behind a token, with the digest of its grants `huifang.check_session` compares.
    public func session(tokenHash: Data) async throws -> RequestSession? {
        // The digest once, not once per grant row.
        let rows = try await pool.read(
            """
            with a as (select * from huifang.authenticate(\(tokenHash)))
            select a.*, (select huifang.grants_digest(min(staff_id)) from a) from a
            """)
        guard let first = rows.first else { return nil }
        var grants: [RoleGrant] = []
        for row in rows {
            guard let name: String = try row.decode(4), let role = Role(rawValue: name) else { continue }
            grants.append(RoleGrant(role: role, branchId: try row.decode(5), departmentId: try row.decode(6)))
        }
        let principal = Principal(
            staffId: try first.decode(0), employeeNo: try first.decode(1), name: try first.decode(2), grants: grants)
        return RequestSession(tokenHash: tokenHash, principal: principal, expiresAt: try first.decode(3), grantsDigest: try first.decode(7))
    }

    @discardableResult
    public func signOut(tokenHash: Data) async throws -> Bool {
        try await pool.query("select huifang.sign_out(\(tokenHash))").single().decode(0, as: Bool?.self) ?? false
    }

    public func passwordHash(staffId: Int64) async throws -> String? {
        try await pool.read("select huifang.password_hash_of(\(staffId))").single().decode(0)
    }

    /// Sets the hash and revokes every live session of the staff member; returns how many.
    /// Runs inside the caller's scoped transaction, which the function checks (own password or admin).
    @discardableResult
    public static func setPassword(
        staffId: Int64, hash: String, reason: SessionRevocation, on connection: Connection
    ) async throws -> Int {
        try await connection.query(
            "select huifang.set_password(\(staffId), \(hash), \(reason.rawValue))"
        ).single().decode(0)
    }
}

/// Why sessions end early (the `sessions.revoked_reason` values).
public enum SessionRevocation: String, Sendable {
    case logout
    case passwordChanged = "password_changed"
    case staffInactive = "staff_inactive"
    case admin
}
