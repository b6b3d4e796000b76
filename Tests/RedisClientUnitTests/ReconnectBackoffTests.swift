import RedisClient
import Testing

@Suite("Reconnect backoff state machine (no server)")
struct ReconnectBackoffTests {
    @Test func connectsAtOnceThenDoublesUpToTheCeiling() {
        var backoff = ReconnectBackoff(initialMilliseconds: 100, maximumMilliseconds: 500)
        #expect(backoff.nextAction() == .connectNow)
        backoff.recordFailure()
        #expect(backoff.nextAction(jitter: 1) == .wait(milliseconds: 100))
        backoff.recordFailure()
        #expect(backoff.nextAction(jitter: 1) == .wait(milliseconds: 200))
        backoff.recordFailure()
        backoff.recordFailure()
        #expect(backoff.nextAction(jitter: 1) == .wait(milliseconds: 500))
        #expect(backoff.nextAction(jitter: 0) == .wait(milliseconds: 250))
        backoff.recordSuccess()
        #expect(backoff.nextAction() == .connectNow)
    }
}
