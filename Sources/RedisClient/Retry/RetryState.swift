/// The state of one operation under a ``RetryPolicy``: a value type whose events return what to do next.
///
/// Tested without a server or a clock: the caller passes the time elapsed since the first failure.
public struct RetryState: Sendable, Equatable {
    /// The policy.
    public let policy: RetryPolicy
    /// Consecutive failures so far.
    public private(set) var failures = 0

    /// What the caller does after a failure.
    public enum Action: Sendable, Equatable {
        /// Wait this long, then try again.
        case retry(afterMilliseconds: Int)
        /// Try again at once (a recovery step, such as reloading a library, already ran).
        case retryNow
        /// Stop and report the error.
        case giveUp
    }

    /// Starts before the first attempt.
    public init(policy: RetryPolicy) { self.policy = policy }

    /// Records a failure. `retryable` says whether trying again can help; `recovered` that the
    /// caller already repaired the cause; `elapsed` is the time since the first failure.
    public mutating func failed(retryable: Bool, recovered: Bool = false, elapsed: Duration, jitterFactor: Double = 1) -> Action {
        failures += 1
        guard retryable || recovered else { return .giveUp }
        if let maximum = policy.maximumAttempts, failures >= maximum { return .giveUp }
        if let deadline = policy.deadline, elapsed >= deadline { return .giveUp }
        if recovered { return .retryNow }
        var wait = policy.backoffMilliseconds(afterFailures: failures, jitterFactor: jitterFactor)
        if let deadline = policy.deadline {
            // Never sleep past the deadline: the last attempt happens at it.
            wait = max(1, min(wait, Int((deadline - elapsed).milliseconds)))
        }
        return .retry(afterMilliseconds: wait)
    }

    /// Records a success: the next failure starts from the first backoff again.
    public mutating func succeeded() { failures = 0 }
}
