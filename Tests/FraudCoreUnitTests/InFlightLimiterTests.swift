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
        try await limiter.acquire()
        try await limiter.acquire()
        let thirdAcquired = Flag()
        let third = Task {
            try await limiter.acquire()
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
                try await third.value
                return
            }
            await Task.yield()
        }
        for _ in 0..<100 { await Task.yield() }
        #expect(await thirdAcquired.isSet == false)
        #expect(await limiter.waiterCount == 1)
        #expect(await limiter.inFlight == 2)
        await limiter.release()
        try await third.value
        #expect(await thirdAcquired.isSet)
        #expect(await limiter.waiterCount == 0)
        #expect(await limiter.inFlight == 2)
        #expect(await limiter.highWaterMark == 2)
    }

    @Test func cancelledWaiterThrowsAndGivesNoPermitAway() async throws {
        let limiter = InFlightLimiter(capacity: 1)
        try await limiter.acquire()
        let waiter = Task { try await limiter.acquire() }
        var yields = 0
        while await limiter.waiterCount == 0 {
            yields += 1
            try #require(yields < 1_000_000, "the second acquire never suspended")
            await Task.yield()
        }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(await limiter.waiterCount == 0)
        #expect(await limiter.inFlight == 1)
        await limiter.release()
        #expect(await limiter.inFlight == 0)
        try await limiter.acquire()  // the permit is still there for the next one
        #expect(await limiter.inFlight == 1)
    }
}
