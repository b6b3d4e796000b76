/// How a failed Redis operation is retried: attempts, exponential backoff with jitter, and a deadline.
///
/// The one retry policy of the client. Connections never retry on their own (a call on a broken
/// connection reconnects once and reports what happened); callers that want retries run the whole
/// operation under a policy with ``run(_:logger:isolation:recover:_:)``, so retries never nest.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included; `nil` retries until the deadline or cancellation.
    public var maximumAttempts: Int?
    /// The wait after the first failure.
    public var initialBackoffMilliseconds: Int
    /// The ceiling of the wait.
    public var maximumBackoffMilliseconds: Int
    /// Scale each wait by a random factor in 50–100%, so many clients do not retry in lockstep.
    public var jitter: Bool
    /// Give up once this much time has passed since the first failure; `nil` for no limit.
    public var deadline: Duration?

    /// Creates a policy.
    public init(
        maximumAttempts: Int?, initialBackoffMilliseconds: Int = 50, maximumBackoffMilliseconds: Int = 2_000,
        jitter: Bool = true, deadline: Duration? = nil
    ) {
        self.maximumAttempts = maximumAttempts.map { max(1, $0) }
        self.initialBackoffMilliseconds = max(1, initialBackoffMilliseconds)
        self.maximumBackoffMilliseconds = max(self.initialBackoffMilliseconds, maximumBackoffMilliseconds)
        self.jitter = jitter
        self.deadline = deadline
    }

    /// One attempt, no retry.
    public static let never = RetryPolicy(maximumAttempts: 1)

    /// A pipeline stage's policy: transient failures are retried until they pass or the task is
    /// cancelled, backing off from 50 ms to 2 s. Safe only for idempotent operations.
    public static let untilCancelled = RetryPolicy(maximumAttempts: nil, initialBackoffMilliseconds: 50, maximumBackoffMilliseconds: 2_000)

    /// The wait after `failures` consecutive failures; `jitterFactor` in 0...1 scales it between 50% and 100%.
    public func backoffMilliseconds(afterFailures failures: Int, jitterFactor: Double = 1) -> Int {
        guard failures > 0 else { return 0 }
        let exponent = min(failures - 1, 20)
        let base = min(maximumBackoffMilliseconds, initialBackoffMilliseconds << exponent)
        guard jitter else { return base }
        return max(1, Int(Double(base) * (0.5 + 0.5 * min(max(jitterFactor, 0), 1))))
    }
}
