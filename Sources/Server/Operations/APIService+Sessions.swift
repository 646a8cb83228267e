import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    /// An unknown employee number takes the same path as a known one — bcrypt against a decoy hash,
    /// the same statement, the same lockout after five failures — so neither the answer nor its
    /// timing tells which numbers exist.
    func signIn(_ input: Operations.SignIn.Input) async throws -> Operations.SignIn.Output {
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        try Validate.throwing(Passwords.problemsReading(body.password, field: "password"))
        let address = RequestPrincipal.throttlingAddress
        // The credential first: a read, run again on a fresh connection if the database restarted
        // since this pool last spoke to it (authenticated requests no longer keep it busy).
        let credential = try await auth.credential(employeeNo: body.employeeNo)
        try await refuseIfLockedOut(employeeNo: body.employeeNo, address: address)
        let passwordOK = try await passwords.verify(body.password, hash: credential?.passwordHash)
        let token = SessionToken.generate()
        let (outcome, retryAfter) = try await auth.signIn(
            employeeNo: body.employeeNo, sourceAddress: address, staffId: credential?.staffId,
            passwordOK: passwordOK, tokenHash: SessionToken.hash(token), lifetime: SessionToken.lifetime)
        if outcome == .ok { return .created(.init(body: .json(try await session(token: token)))) }
        try Self.refuseSignIn(outcome, retryAfter: retryAfter)
    }

    /// A throttled address or a locked number is refused before bcrypt runs: refusing costs nothing.
    private func refuseIfLockedOut(employeeNo: String, address: String?) async throws {
        if let (outcome, retryAfter) = try await auth.gate(employeeNo: employeeNo, sourceAddress: address) {
            try Self.refuseSignIn(outcome, retryAfter: retryAfter)
        }
    }

    private static func refuseSignIn(_ outcome: AuthStore.Outcome, retryAfter: Int?) throws -> Never {
        switch outcome {
        case .locked: throw AppError.locked(retryAfterSeconds: retryAfter)
        case .throttled: throw AppError.throttled(retryAfterSeconds: retryAfter ?? 900)
        case .ok, .invalid, .inactive: throw AppError.invalidCredentials
        }
    }

    func signOut(_ input: Operations.SignOut.Input) async throws -> Operations.SignOut.Output {
        _ = try signedIn()
        guard let session = RequestSession.current else { throw AppError.unauthenticated }
        sessions.forget(session.tokenHash)
        // Ending a session that had already ended (on another server, or by an admin) is a 401, as before.
        guard try await auth.signOut(tokenHash: session.tokenHash) else { throw AppError.unauthenticated }
        session.checked.mark()
        return .noContent(.init())
    }

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        .ok(.init(body: .json(me(try signedIn()))))
    }

    func changeMyPassword(_ input: Operations.ChangeMyPassword.Input) async throws -> Operations.ChangeMyPassword.Output {
        let principal = try signedIn()
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        // A remembered session is checked before its password is: a token signed out elsewhere gets no guesses.
        try await checkSession()
        // Checking the current password is a sign-in by another door: the same lockout, so that a
        // stolen token cannot be used to guess the password behind it.
        let address = RequestPrincipal.throttlingAddress
        try await refuseIfLockedOut(employeeNo: principal.employeeNo, address: address)
        let current = try await auth.passwordHash(staffId: principal.staffId)
        guard try await passwords.verify(body.currentPassword, hash: current) else {
            let (outcome, retryAfter) = try await auth.signIn(
                employeeNo: principal.employeeNo, sourceAddress: address, staffId: principal.staffId, passwordOK: false,
                tokenHash: Data(count: 32), lifetime: .zero)
            if outcome == .locked || outcome == .throttled { try Self.refuseSignIn(outcome, retryAfter: retryAfter) }
            throw AppError.invalid([.init("currentPassword", "is not your current password")])
        }
        var problems = Passwords.problems(with: body.newPassword, field: "newPassword")
        if body.newPassword == body.currentPassword { problems.append(.init("newPassword", "must differ from the current one")) }
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        let hash = try await passwords.hash(body.newPassword)
        let token = SessionToken.generate()
        let own = ownAccess(principal)
        try await pool.transaction(for: own) { connection in
            try await AuthStore.setPassword(staffId: principal.staffId, hash: hash, reason: .passwordChanged, on: connection)
            try await AuditLog(connection).record(
                action: "staff.password_changed", objectType: "staff", objectId: String(principal.staffId))
        }
        // Every session died with the old password; this one continues under a new token.
        let credential = try await auth.credential(employeeNo: principal.employeeNo)
        guard let credential,
            try await auth.record(
                staffId: credential.staffId, passwordOK: true, tokenHash: SessionToken.hash(token), lifetime: SessionToken.lifetime)
                == .ok
        else { throw AppError.invalidCredentials }
        return .ok(.init(body: .json(try await session(token: token))))
    }

    /// The new session as the answer shows it; remembered, as its first request would read it.
    private func session(token: String) async throws -> Components.Schemas.Session {
        guard let session = try await sessions.read(SessionToken.hash(token), with: auth) else {
            throw AppError.invalidCredentials
        }
        return .init(token: token, expiresAt: session.expiresAt, me: me(session.principal))
    }

    func me(_ principal: Principal) -> Components.Schemas.Me {
        .init(
            staffId: principal.staffId, employeeNo: principal.employeeNo, name: principal.name,
            grants: principal.grants.map {
                .init(role: .init(rawValue: $0.role.rawValue)!, branchId: $0.branchId.map(Int32.init),
                      departmentId: $0.departmentId.map(Int32.init))
            },
            permissions: Action.allCases.compactMap { action in
                principal.access(for: action).map {
                    .init(
                        action: action.rawValue, allBranches: $0.allBranches, organization: $0.organization,
                        branchIds: $0.branchIds.map(Int32.init))
                }
            })
    }
}

extension APIService {
    func listMySessions(_ input: Operations.ListMySessions.Input) async throws -> Operations.ListMySessions.Output {
        let principal = try signedIn()
        return .ok(.init(body: .json(try await sessionList(of: principal.staffId, access: ownAccess(principal)))))
    }

    func listStaffSessions(_ input: Operations.ListStaffSessions.Input) async throws -> Operations.ListStaffSessions.Output {
        let access = try authorize(.manageOrganization)
        return .ok(.init(body: .json(try await sessionList(of: input.path.staffId, access: access))))
    }

    func revokeSession(_ input: Operations.RevokeSession.Input) async throws -> Operations.RevokeSession.Output {
        let principal = try signedIn()
        let access = principal.access(for: .manageOrganization) ?? ownAccess(principal)
        let id = input.path.sessionId
        try await pool.transaction(for: access) { db in
            guard let owner = try await AuthStore.revokeSession(id, on: db) else { throw AppError.notFound("session") }
            try await AuditLog(db).record(
                action: "session.revoked", objectType: "staff", objectId: String(owner),
                detail: try JSONB(encoding: ["session": String(id), "by": owner == principal.staffId ? "self" : "admin"]))
        }
        return .noContent(.init())
    }

    /// The scope in which a person acts on their own account only.
    private func ownAccess(_ principal: Principal) -> Access {
        Access(staffId: principal.staffId, action: .readOrganization, branchIds: [], allBranches: false, organization: false)
    }

    private func sessionList(of staffId: Int64, access: Access) async throws -> Components.Schemas.SessionList {
        let sessions = try await pool.transaction(for: access) {
            try await AuthStore.sessions(of: staffId, currentTokenHash: RequestPrincipal.tokenHash, on: $0)
        }
        return .init(items: sessions.map {
            .init(id: $0.id, createdAt: $0.createdAt, expiresAt: $0.expiresAt, sourceAddress: $0.sourceAddress, current: $0.isCurrent)
        })
    }
}

extension APIService {
    /// Asks the database now whether the request's session is live with the grants it was read with
    /// (most requests need not: their first scoped statement asks).
    func checkSession() async throws {
        guard let session = RequestSession.current else { throw AppError.unauthenticated }
        _ = try await auth.pool.query(session.check)
        session.checked.mark()
    }
}
