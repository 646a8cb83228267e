import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing and checking, off the event loops (each takes tens to hundreds of milliseconds).
public struct Passwords: Sendable {
    /// bcrypt work factor for new hashes; existing hashes carry their own.
    let cost: UInt8
    /// Checked against when the employee number is unknown, at the cost real hashes have, so both
    /// cases take the same time.
    let decoy: String

    init(cost: UInt8) {
        self.cost = cost
        self.decoy = Bcrypt.hash("decoy password that never matches", cost: cost)
    }

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`. bcrypt stops at a NUL byte and after 72 bytes, so a
    /// password it would read only in part never matches: `"secret\0anything"` is not `"secret"`.
    func verify(_ password: String, hash: String?) async throws -> Bool {
        let usable = hash != nil && Self.bcryptReadsWhole(password)
        let hash = hash ?? decoy
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        return usable && matches
    }

    static func bcryptReadsWhole(_ password: String) -> Bool {
        password.utf8.count <= 72 && !password.utf8.contains(0)
    }

    /// What a password must satisfy to be checked at all: bcrypt reads at most 72 bytes and stops at NUL.
    static func problemsReading(_ password: String, field: String) -> [Problem.FieldError] {
        var problems: [Problem.FieldError] = []
        if password.utf8.count > 72 { problems.append(.init(field, "must be at most 72 bytes")) }
        if Schema.forbiddenControl(in: password, allowLayout: false) != nil {
            problems.append(.init(field, "must not contain control characters"))
        }
        return problems
    }

    /// What a new password must satisfy.
    public static func problems(with password: String, field: String) -> [Problem.FieldError] {
        var problems = problemsReading(password, field: field)
        if password.count < 10 { problems.append(.init(field, "must have at least 10 characters")) }
        if Set(password).count < 4 { problems.append(.init(field, "is too repetitive")) }
        return problems
    }
}
