import Logging

extension RetryPolicy {
    /// Runs `operation`, retrying transient failures (``RedisError/isTransient``) under this policy.
    ///
    /// The one place that logs a retry: the first failure of an outage is a warning, later ones are
    /// debug lines, and the success that ends it is a notice with its length (``OutageLog``). `recover`
    /// sees every failure first; returning `true` means it repaired the cause (for example reloaded
    /// a flushed Functions library) and the operation runs again at once. Cancellation ends the loop
    /// with ``RedisError/Code/cancelled``, and so does a `sleep` that throws (a caller can end the
    /// waits early, for example on graceful shutdown, without cancelling a call under way).
    public func run<Result>(
        _ what: @autoclosure () -> String, logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        recover: (RedisError) async throws(RedisError) -> Bool = { _ in false },
        sleep: (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        _ operation: () async throws(RedisError) -> Result
    ) async throws(RedisError) -> Result {
        var state = RetryState(policy: self)
        var outage = OutageLog(what())
        let clock = ContinuousClock()
        var firstFailure: ContinuousClock.Instant?
        while true {
            let failure: RedisError
            do {
                let result = try await operation()
                outage.succeeded(logger: logger)
                return result
            } catch {
                failure = error
            }
            if Task.isCancelled || failure.code == .cancelled { throw failure }
            let now = clock.now
            let started = firstFailure ?? now
            firstFailure = started
            let recovered = try await recover(failure)
            let action = state.failed(
                retryable: failure.isTransient, recovered: recovered, elapsed: now - started,
                jitterFactor: Double.random(in: 0...1))
            switch action {
            case .giveUp:
                throw failure
            case .retryNow:
                RedisActivity.retried()
                logger.notice("\(what()) failed; repaired, retrying", metadata: ["error": "\(failure)"])
            case .retry(let milliseconds):
                RedisActivity.retried()
                outage.failed(failure, logger: logger, detail: ["retry_ms": "\(milliseconds)"])
                do {
                    try await sleep(.milliseconds(milliseconds))
                } catch {
                    throw RedisError(code: .cancelled, message: "cancelled while waiting to retry \(what()): \(failure.message)")
                }
            }
        }
    }
}
