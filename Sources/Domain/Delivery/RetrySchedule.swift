/// When a failed delivery is tried again: exponential backoff with full jitter (AWS's "Exponential
/// Backoff and Jitter"), so receivers that fail together are not hit together again; and when to stop.
public struct RetrySchedule: Sendable, Equatable {
    /// The wait after the first failure, before jitter.
    public var base: Duration
    /// The longest wait between two attempts.
    public var cap: Duration
    /// How long after a delivery became pending the last attempt may start; then it is dead.
    public var giveUpAfter: Duration

    public init(base: Duration = .seconds(5), cap: Duration = .seconds(600), giveUpAfter: Duration = .seconds(24 * 3600)) {
        self.base = base
        self.cap = cap
        self.giveUpAfter = giveUpAfter
    }

    /// The wait after failed attempt number `attempt` (1-based): a random share (`jitter` in 0...1) of
    /// min(cap, base · 2^(attempt−1)), never less than a tenth of the base.
    public func delay(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(cap, base * (1 << exponent))
        return max(base / 10, ceiling * min(max(jitter, 0), 1))
    }

    /// Whether a delivery pending for `elapsed` (when its next attempt would start) is past the bound.
    public func isExhausted(elapsedAtNextAttempt elapsed: Duration) -> Bool {
        elapsed > giveUpAfter
    }
}
