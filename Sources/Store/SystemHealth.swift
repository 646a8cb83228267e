import Foundation
import Postgres

/// What `/health` reports: can we reach the database, and is its schema the one this build expects.
public struct SystemHealth: Sendable {
    public struct Check: Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String?
        /// Serving is fine, but someone should act soon (e.g. load next year's calendar).
        public var warning: Bool = false
    }

    public var checks: [Check]
    public var isHealthy: Bool { checks.allSatisfy(\.ok) }
    public var hasWarnings: Bool { checks.contains(where: \.warning) }

    /// Days ahead in which a provisional (not yet announced) calendar year is worth a warning.
    public static let calendarHorizonDays = 60

    /// Runs the checks as the request role; `expected` are the migrations shipped with this build and
    /// `definitions` its definition files (none: not checked).
    public static func check(pool: Pool, expected: [Migration], definitions: [Definition] = [], now: Date = Date()) async -> SystemHealth {
        let applied: [Int: String]
        do {
            var rows: [Int: String] = [:]
            for row in try await pool.read("select version, checksum from huifang.schema_migrations") {
                rows[try row.decode(0)] = try row.decode(1)
            }
            applied = rows
        } catch let error as PostgresError where !error.isConnectionLoss && error.sqlState == "42P01" {
            return SystemHealth(checks: [
                Check(name: "database", ok: true, detail: nil),
                Check(name: "migrations", ok: false, detail: "the database has never been migrated: run `huifang migrate`"),
            ])
        } catch {
            return SystemHealth(checks: [
                Check(name: "database", ok: false, detail: "\(error)"),
                Check(name: "migrations", ok: false, detail: "unknown: the database did not answer"),
            ])
        }
        let migrations = migrationCheck(applied: applied, expected: expected)
        var checks = [Check(name: "database", ok: true, detail: nil), migrations]
        if migrations.ok {
            if !definitions.isEmpty { checks.append(await definitionCheck(pool: pool, expected: definitions)) }
            checks.append(await calendarCheck(pool: pool, now: now))
            checks.append(await deliveryCheck(pool: pool))
        }
        return SystemHealth(checks: checks)
    }

    /// The functions, triggers and policies are the ones this build defines: another build's
    /// `huifang migrate` may have applied different ones to the same database.
    static func definitionCheck(pool: Pool, expected: [Definition]) async -> Check {
        var applied: [String: String] = [:]
        do {
            for row in try await pool.read("select name, checksum from huifang.schema_definitions") {
                applied[try row.decode(0)] = try row.decode(1)
            }
        } catch {
            return Check(name: "definitions", ok: false, detail: "cannot read huifang.schema_definitions: \(error)")
        }
        let pending = expected.filter { applied[$0.name] == nil }.map(\.name)
        let differing = expected.filter { definition in applied[definition.name].map { $0 != definition.checksum } ?? false }.map(\.name)
        var problems: [String] = []
        if !pending.isEmpty { problems.append("not applied: \(pending.joined(separator: ", "))") }
        if !differing.isEmpty { problems.append("applied as another build wrote them: \(differing.joined(separator: ", "))") }
        return problems.isEmpty
            ? Check(name: "definitions", ok: true, detail: "\(expected.count) files applied as this build has them")
            : Check(name: "definitions", ok: false, detail: problems.joined(separator: "; ") + "; run `huifang migrate` with this build")
    }

    /// Warns when the coming days fall in a year whose official schedule is not loaded: deadlines
    /// there are counted Monday to Friday and may move when the schedule arrives.
    static func calendarCheck(pool: Pool, now: Date) async -> Check {
        let store = CalendarStore(pool: pool)
        var provisional: [String] = []
        do {
            for calendar in CalendarStore.calendars {
                let years = try await store.provisionalYears(calendar: calendar, horizonDays: calendarHorizonDays, now: now)
                if !years.isEmpty { provisional.append("\(calendar) \(years.map(String.init).joined(separator: ", "))") }
            }
        } catch {
            return Check(name: "calendar", ok: false, detail: "cannot read the calendars: \(error)")
        }
        guard !provisional.isEmpty else {
            return Check(name: "calendar", ok: true, detail: "the next \(calendarHorizonDays) days are in official years")
        }
        return Check(
            name: "calendar", ok: true,
            detail: "the next \(calendarHorizonDays) days reach provisional years (Monday–Friday assumed, deadlines may move "
                + "when the official schedule is loaded): \(provisional.joined(separator: "; "))",
            warning: true)
    }

    /// Warns while deliveries are dead: someone expected a message that never arrived.
    static func deliveryCheck(pool: Pool) async -> Check {
        do {
            let counts = try await DeliveryCounts.outstanding(pool: pool)
            guard counts.dead > 0 else { return Check(name: "delivery", ok: true, detail: "\(counts.pending) pending, none dead") }
            return Check(
                name: "delivery", ok: true,
                detail: "\(counts.dead) dead deliveries (retries gave up; see GET /deliveries?state=dead, retry with POST "
                    + "/deliveries/{id}/retry); \(counts.pending) pending",
                warning: true)
        } catch {
            return Check(name: "delivery", ok: false, detail: "cannot read the deliveries: \(error)")
        }
    }

    static func migrationCheck(applied: [Int: String], expected: [Migration]) -> Check {
        let pending = expected.filter { applied[$0.version] == nil }.map(\.label)
        let changed = expected.filter { migration in
            applied[migration.version].map { $0 != migration.checksum } ?? false
        }.map(\.label)
        let unknown = applied.keys.filter { version in !expected.contains { $0.version == version } }.sorted()
        var problems: [String] = []
        if !pending.isEmpty { problems.append("pending: \(pending.joined(separator: ", "))") }
        if !changed.isEmpty { problems.append("changed since applied: \(changed.joined(separator: ", "))") }
        if !unknown.isEmpty { problems.append("applied but unknown to this build: \(unknown.map { String(format: "%04d", $0) }.joined(separator: ", "))") }
        return problems.isEmpty
            ? Check(name: "migrations", ok: true, detail: "\(expected.count) applied")
            : Check(name: "migrations", ok: false, detail: problems.joined(separator: "; "))
    }
}
