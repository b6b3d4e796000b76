import Logging
import RedisClient

/// Runs `operation` until it succeeds, retrying connection failures with exponential backoff and
/// reloading a Functions library that someone flushed. Other errors, and cancellation, end it.
///
/// The operations retried this way are idempotent by construction (see ``UserFeaturesCall`` and
/// ``WriteBatchCall``), so retrying never counts or writes anything twice.
func retryingConnectionFailures<T>(
    on connection: RedisConnection, library: FunctionLibrary, logger: Logger, what: String,
    isolation: isolated (any Actor)? = #isolation,
    _ operation: () async throws(RedisError) -> T
) async throws -> T {
    var backoff = ReconnectBackoff(initialMilliseconds: 50, maximumMilliseconds: 2_000)
    while true {
        let failure: RedisError
        do {
            return try await operation()
        } catch {
            failure = error
        }
        try Task.checkCancellation()
        if failure.code == .serverError && failure.message.contains("Function not found") {
            try await library.load(on: connection)
            continue
        }
        guard failure.isConnectionFailure else { throw failure }
        backoff.recordFailure()
        if case .wait(let milliseconds) = backoff.nextAction(jitter: Double.random(in: 0...1)) {
            logger.warning("\(what) failed; retrying", metadata: ["error": "\(failure)", "retry_ms": "\(milliseconds)"])
            try await Task.sleep(for: .milliseconds(milliseconds))
        }
    }
}
