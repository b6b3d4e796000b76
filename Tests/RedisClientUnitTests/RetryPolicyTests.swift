import Logging
import RedisClient
import Testing

@Suite("Retry policy and its state machine (no server)")
struct RetryPolicyTests {
    @Test func backoffDoublesUpToTheCeilingAndJitterScalesIt() {
        let policy = RetryPolicy(maximumAttempts: nil, initialBackoffMilliseconds: 100, maximumBackoffMilliseconds: 500)
        #expect(policy.backoffMilliseconds(afterFailures: 0) == 0)
        #expect(policy.backoffMilliseconds(afterFailures: 1, jitterFactor: 1) == 100)
        #expect(policy.backoffMilliseconds(afterFailures: 2, jitterFactor: 1) == 200)
        #expect(policy.backoffMilliseconds(afterFailures: 4, jitterFactor: 1) == 500)
        #expect(policy.backoffMilliseconds(afterFailures: 4, jitterFactor: 0) == 250)
        var unjittered = policy
        unjittered.jitter = false
        #expect(unjittered.backoffMilliseconds(afterFailures: 3, jitterFactor: 0) == 400)
    }

    @Test func givesUpAfterMaximumAttemptsAndResetsOnSuccess() {
        var state = RetryState(policy: RetryPolicy(maximumAttempts: 3, initialBackoffMilliseconds: 10, jitter: false))
        #expect(state.failed(retryable: true, elapsed: .zero) == .retry(afterMilliseconds: 10))
        #expect(state.failed(retryable: true, elapsed: .milliseconds(10)) == .retry(afterMilliseconds: 20))
        #expect(state.failed(retryable: true, elapsed: .milliseconds(30)) == .giveUp)
        state.succeeded()
        #expect(state.failures == 0)
        #expect(state.failed(retryable: true, elapsed: .zero) == .retry(afterMilliseconds: 10))
    }

    @Test func permanentErrorsAreNotRetriedButRepairedOnesRetryAtOnce() {
        var state = RetryState(policy: .untilCancelled)
        #expect(state.failed(retryable: false, elapsed: .zero) == .giveUp)
        #expect(state.failed(retryable: false, recovered: true, elapsed: .zero) == .retryNow)
    }

    @Test func deadlineCapsTheLastWaitAndThenGivesUp() {
        var state = RetryState(
            policy: RetryPolicy(maximumAttempts: nil, initialBackoffMilliseconds: 400, jitter: false, deadline: .milliseconds(500)))
        #expect(state.failed(retryable: true, elapsed: .milliseconds(300)) == .retry(afterMilliseconds: 200))
        #expect(state.failed(retryable: true, elapsed: .milliseconds(500)) == .giveUp)
    }

    @Test func transientErrorsIncludeLoadingAndConnectionFailures() {
        #expect(RedisError(code: .connectionLost, message: "x").isTransient)
        #expect(RedisError.server("LOADING Redis is loading the dataset in memory").isTransient)
        #expect(RedisError.server("BUSY Redis is busy running a script").isTransient)
        #expect(!RedisError.server("ERR wrong number of arguments").isTransient)
        #expect(!RedisError(code: .authenticationFailed, message: "NOAUTH").isTransient)
    }

    @Test func runRetriesTransientFailuresAndRepairsOnce() async throws {
        actor Attempts {
            var count = 0
            func next() -> Int { count += 1; return count }
        }
        let attempts = Attempts()
        let policy = RetryPolicy(maximumAttempts: 5, initialBackoffMilliseconds: 1)
        let value = try await policy.run(
            "op", logger: Logger(label: "test"),
            recover: { error async throws(RedisError) in error.message == "repairable" }
        ) { () async throws(RedisError) -> Int in
            switch await attempts.next() {
            case 1: throw RedisError(code: .connectionLost, message: "lost")
            case 2: throw RedisError.server("repairable")
            default: return 42
            }
        }
        #expect(value == 42)
        #expect(await attempts.count == 3)
        await #expect(throws: RedisError.self) {
            try await RetryPolicy(maximumAttempts: 5, initialBackoffMilliseconds: 1).run("op", logger: Logger(label: "test")) {
                () async throws(RedisError) in throw RedisError.server("ERR permanent")
            }
        }
    }
}
