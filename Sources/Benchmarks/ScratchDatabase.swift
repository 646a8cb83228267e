import Logging
import Postgres
import Store

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

/// The same, migrated: `body` gets a pool on it as the owner and the request role's settings.
func withMigratedScratchDatabase<T>(
    _ name: String, owner: ConnectionConfiguration, application: ConnectionConfiguration, logger: Logger,
    _ body: (_ owner: Pool, _ application: ConnectionConfiguration) async throws -> T
) async throws -> T {
    try await withScratchDatabase(name, owner: owner, application: application, logger: logger) { owner, app in
        try await Pool.withPool(owner, logger: logger) { pool in
            _ = try await Migrator(pool: pool, directory: try MigrationsDirectory.locate(), logger: logger).migrate()
            return try await body(pool, app)
        }
    }
}
