import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing and checking, off the event loops (each takes tens to hundreds of milliseconds).
struct Passwords: Sendable {
    /// bcrypt work factor for new hashes; existing hashes carry their own.
    var cost: UInt8

    /// Checked against when the employee number is unknown, so both cases take the same time.
    private static let decoy = Bcrypt.hash("decoy password that never matches", cost: 10)

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, hash: String?) async throws -> Bool {
        let known = hash != nil
        let hash = hash ?? Self.decoy
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        return known && matches
    }

    /// What a new password must satisfy; bcrypt reads at most 72 bytes.
    static func problems(with password: String, field: String) -> [Problem.FieldError] {
        var problems: [Problem.FieldError] = []
        if password.count < 10 { problems.append(.init(field, "must have at least 10 characters")) }
        if password.utf8.count > 72 { problems.append(.init(field, "must be at most 72 bytes")) }
        if Set(password).count < 4 { problems.append(.init(field, "is too repetitive")) }
        return problems
    }
}
