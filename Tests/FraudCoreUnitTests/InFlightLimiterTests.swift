import Testing

@testable import FraudCore

@Suite("In-flight limiter (no server)")
struct InFlightLimiterTests {
    /// Set once, read from another task.
    actor Flag {
        private(set) var isSet = false
        func set() { isSet = true }
    }

    @Test func blocksAtCapacityAndWakesOnRelease() async throws {
        let limiter = InFlightLimiter(capacity: 2)
        await limiter.acquire()
        await limiter.acquire()
        let thirdAcquired = Flag()
        let third = Task {
            await limiter.acquire()
            await thirdAcquired.set()
        }
        // No timing: the third acquire is parked in the limiter's waiter list, and stays there
        // however often the other tasks get to run.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while await limiter.waiterCount == 0 {
            guard clock.now < deadline else {
                Issue.record("the third acquire never reached the limiter")
                await limiter.release()
                await third.value
                return
            }
            await Task.yield()
        }
        for _ in 0..<100 { await Task.yield() }
        #expect(await thirdAcquired.isSet == false)
        #expect(await limiter.waiterCount == 1)
        #expect(await limiter.inFlight == 2)
        await limiter.release()
        await third.value
        #expect(await thirdAcquired.isSet)
        #expect(await limiter.waiterCount == 0)
        #expect(await limiter.inFlight == 2)
        #expect(await limiter.highWaterMark == 2)
    }
}
