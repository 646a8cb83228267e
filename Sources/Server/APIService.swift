import API
import Foundation
import Postgres
import Store

/// Implements the operations of `openapi.yaml`; one extension per area, in `Operations/`.
struct APIService: APIProtocol {
    let pool: Pool
    /// The small pool of sign-in, authentication and `/health`.
    let authPool: Pool
    /// Where the heavy reads go: the read replica when configured and fit, else `pool`.
    let reports: ReportReads
    let migrations: [Migration]
    let definitions: [Definition]
    let metrics: PrometheusMetrics
    let now: @Sendable () -> Date
    let auth: AuthStore
    /// Sessions read recently (`AuthenticationMiddleware`); a sign-out forgets its own.
    let sessions: SessionCache
    let passwords: Passwords
}
