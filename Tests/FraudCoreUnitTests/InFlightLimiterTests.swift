import Testing

@testable import FraudCore

@Suite("In-flight limiter (no server)")
struct InFlightLimiterTests {
    @Test func blocksAtCapacityAndWakesOnRelease() async {
        let limiter = InFlightLimiter(capacity: 2)
        await limiter.acquire()
        await limiter.acquire()
        let third = Task { await limiter.acquire() }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(await limiter.inFlight == 2)
        await limiter.release()
        await third.value
        #expect(await limiter.inFlight == 2)
        #expect(await limiter.highWaterMark == 2)
    }
}
