import Domain
import Foundation
import Postgres
import Synchronization

/// A hot standby that serves the heavy reads (monitoring, coverage, assessment, evaluation lists),
/// with the rules that keep it honest:
///
/// - a read runs there only when the standby has replayed everything the primary had written when
///   the read began (its insert LSN, asked of the primary first): so it sees what any client —
///   the caller included — was told is done. It waits up to `maxWait` for the standby to catch up,
///   else reads on the primary;
/// - the standby is measured every second or so (`measure`): when it is behind by more than
///   `maxLag`, unreachable, or no longer a standby, reads go to the primary without trying it, and
///   `/health` says so;
/// - row-level security is the same there (the policies replicate, and the connection is the same
///   `huifang_app` role with the same transaction-local scope); the session is checked there too,
///   against a `sessions` table at least as new as the primary's when the read began.
public final class ReadReplica: Sendable {
    public let pool: Pool
    public let maxLag: Duration
    public let maxWait: Duration

    /// What the last measurement found.
    public enum Standing: Sendable, Equatable {
        case unmeasured
        /// Replaying; `lag` is how long ago its last replayed commit happened on the primary, or zero
        /// when it has replayed everything the primary had written.
        case replaying(lag: Duration)
        case unreachable(String)
        /// A server that accepts writes: promoted, or the wrong host. Never read from: it no longer
        /// follows the primary.
        case notAStandby
    }

    private struct State {
        var standing = Standing.unmeasured
        var servedHere = 0
        var servedByPrimary = 0
    }

    private let state = Mutex(State())

    public init(pool: Pool, maxLag: Duration = .seconds(30), maxWait: Duration = .milliseconds(500)) {
        self.pool = pool
        self.maxLag = maxLag
        self.maxWait = maxWait
    }

    public var standing: Standing { state.withLock { $0.standing } }
    /// Reads run on the standby, and reads meant for it that ran on the primary, since start.
    public var served: (replica: Int, primary: Int) { state.withLock { ($0.servedHere, $0.servedByPrimary) } }

    /// Whether reads try the standby now.
    public var isUsable: Bool {
        if case .replaying(let lag) = standing { return lag <= maxLag }
        return false
    }

    /// Measures the standby against the primary's current insert position.
    @discardableResult
    public func measure(primary: Pool) async -> Standing {
        let standing: Standing
        do {
            let written = try await Self.writtenPosition(primary)
            let row = try await pool.read(
                """
                select pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn() >= \(written)::pg_lsn, false),
                       coalesce(extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp())::float8, 0)
                """
            ).single()
            let asked = ContinuousClock.now
            if try !row.decode(0, as: Bool.self) {
                standing = .notAStandby
            } else if try row.decode(1, as: Bool.self) {
                standing = .replaying(lag: .zero)
            } else if await caughtUp(with: written) {
                // A little behind: the lag is how long it took to catch up.
                standing = .replaying(lag: ContinuousClock.now - asked)
            } else {
                // Far behind (or replay paused): the age of the last commit it replayed. Not the time
                // since the last measurement: an idle primary writes no commits for a long time.
                standing = .replaying(lag: max(.seconds(max(try row.decode(2, as: Double.self), 0)), maxWait))
            }
        } catch {
            standing = .unreachable("\(error)")
        }
        state.withLock { $0.standing = standing }
        return standing
    }

    /// A read-only transaction scoped to `access`, on the standby when it has caught up with the
    /// primary as of now, else on `primary`.
    public func transaction<T: Sendable>(
        primary: Pool, for access: Access, adding settings: [(name: String, value: String)] = [], _ body: (Connection) async throws -> T
    ) async throws -> T {
        if isUsable, try await caughtUp(with: Self.writtenPosition(primary)) {
            do {
                let result = try await pool.transaction(for: access, adding: settings, readOnly: true, body)
                state.withLock { $0.servedHere += 1 }
                return result
            } catch let error as PostgresError where error.isConnectionLoss {
                state.withLock { $0.standing = .unreachable("\(error)") }
            } catch let error as PoolError where error != .shutDown {
                // Its connections are all busy: this read goes to the primary; the standby is fine.
            }
        }
        state.withLock { $0.servedByPrimary += 1 }
        return try await primary.transaction(for: access, adding: settings, readOnly: true, body)
    }

    /// Whether the standby replays up to `position` within `maxWait`; false when it cannot be asked.
    private func caughtUp(with position: String) async -> Bool {
        let deadline = ContinuousClock.now + maxWait
        do {
            return try await pool.withConnection { connection in
                while true {
                    let replayed = try await connection.query(
                        "select coalesce(pg_last_wal_replay_lsn() >= \(position)::pg_lsn, false)"
                    ).single().decode(0, as: Bool.self)
                    if replayed { return true }
                    guard ContinuousClock.now < deadline else { return false }
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
        } catch {
            state.withLock { $0.standing = .unreachable("\(error)") }
            return false
        }
    }

    /// Where the primary writes now: every commit acknowledged so far lies before it.
    static func writtenPosition(_ primary: Pool) async throws -> String {
        try await primary.read("select pg_current_wal_insert_lsn()::text").single().decode(0, as: String.self)
    }
}

/// Where the heavy reads of a request go: the read replica when there is one (`ReadReplica`), else
/// the primary.
public struct ReportReads: Sendable {
    public let primary: Pool
    public let replica: ReadReplica?

    public init(primary: Pool, replica: ReadReplica?) {
        self.primary = primary
        self.replica = replica
    }

    /// A read-only transaction scoped to `access`, where `ReadReplica` decides.
    public func transaction<T: Sendable>(
        for access: Access, adding settings: [(name: String, value: String)] = [], _ body: (Connection) async throws -> T
    ) async throws -> T {
        guard let replica else { return try await primary.transaction(for: access, adding: settings, readOnly: true, body) }
        return try await replica.transaction(primary: primary, for: access, adding: settings, body)
    }
}

extension ReadReplica {
    /// `/health`'s line for the replica: always ok (the primary serves when the replica cannot), a
    /// warning whenever reads go to the primary, and the lag.
    public var healthCheck: SystemHealth.Check {
        let bound = "bound \(Self.seconds(maxLag))"
        switch standing {
        case .unmeasured:
            return .init(name: "read replica", ok: true, detail: "not measured yet: reads go to the primary", warning: true)
        case .replaying(let lag) where lag <= maxLag:
            return .init(name: "read replica", ok: true, detail: "replication lag \(Self.seconds(lag)) (\(bound)): reports read there")
        case .replaying(let lag):
            return .init(
                name: "read replica", ok: true, detail: "replication lag \(Self.seconds(lag)), over the \(bound): reads go to the primary",
                warning: true)
        case .unreachable(let error):
            return .init(name: "read replica", ok: true, detail: "unreachable (\(error)): reads go to the primary", warning: true)
        case .notAStandby:
            return .init(
                name: "read replica", ok: true, detail: "the read host accepts writes (promoted?), so it no longer follows the primary: reads go to the primary",
                warning: true)
        }
    }

    /// The lag in seconds, for `/metrics`; nil when not replaying.
    public var lagSeconds: Double? {
        guard case .replaying(let lag) = standing else { return nil }
        return Double(lag.components.seconds) + Double(lag.components.attoseconds) / 1e18
    }

    private static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.3f s", value)
    }
}
