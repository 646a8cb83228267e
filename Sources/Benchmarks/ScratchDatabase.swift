import Logging
import Postgres

/// A fresh database beside the configured one for `body`, dropped afterwards; `body` gets the owner
/// and request-role settings for it.
func withScratchDatabase<T>(
    _ name: String, owner: ConnectionConfiguration, application: ConnectionConfiguration, logger: Logger,
    _ body: (_ owner: ConnectionConfiguration, _ application: ConnectionConfiguration) async throws -> T
) async throws -> T {
    try await Pool.withPool(owner, logger: logger) { admin in
        try await admin.withConnection {
            try await $0.run(script: "drop database if exists \(name) with (force)")
            try await $0.run(script: "create database \(name)")
        }
    }
    let result = try await body(owner.connecting(toDatabase: name), application.connecting(toDatabase: name))
    try await Pool.withPool(owner, logger: logger) { admin in
        try await admin.withConnection { try await $0.run(script: "drop database \(name) with (force)") }
    }
    return result
}
