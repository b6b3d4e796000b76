import Testing

@testable import FraudServer

/// The admission bound learns what the lanes decide within the deadline, without HTTP or Redis.
@Suite("Admission bound (no server)")
struct AdmissionLimitTests {
    static func limit() -> AdmissionLimit { AdmissionLimit(ceiling: 4_096, lanes: 2, batchSize: 128, deadlineMilliseconds: 20) }

    @Test func itGrowsWhileTransactionsAreDecidedQuicklyAndTheLimitIsNear() {
        var limit = Self.limit()
        #expect(limit.value == 256)
        // Far from the bound: no reason to grow.
        limit.learn(queuedMicroseconds: 500, serviceMicroseconds: 800, admitted: 10)
        #expect(limit.value == 256)
        // Near it and quick: a batch more each time, up to the ceiling.
        for _ in 0..<100 { limit.learn(queuedMicroseconds: 500, serviceMicroseconds: 800, admitted: limit.value - 10) }
        #expect(limit.value == 4_096)
    }

    @Test func itShrinksWhenTheServerNotRedisMakesTransactionsWait() {
        var limit = Self.limit()
        for _ in 0..<100 { limit.learn(queuedMicroseconds: 500, serviceMicroseconds: 800, admitted: limit.value - 10) }
        let start = ContinuousClock.now
        // Queued past half the deadline while the round trips are quick: overloaded, shrink by a quarter.
        limit.learn(queuedMicroseconds: 15_000, serviceMicroseconds: 1_000, admitted: 4_000, now: start)
        #expect(limit.value == 3_072)
        // Not again within one deadline (one burst does not collapse it) ...
        limit.learn(queuedMicroseconds: 15_000, serviceMicroseconds: 1_000, admitted: 3_000, now: start + .milliseconds(5))
        #expect(limit.value == 3_072)
        // ... but again after it, down to the floor of one transaction per lane.
        for step in 1...80 {
            limit.learn(queuedMicroseconds: 15_000, serviceMicroseconds: 1_000, admitted: 300, now: start + .milliseconds(25 * step))
        }
        #expect(limit.value == 2)
    }

    @Test func aSlowRedisMovesItNeitherWay() {
        var limit = Self.limit()
        for _ in 0..<4 { limit.learn(queuedMicroseconds: 500, serviceMicroseconds: 800, admitted: limit.value - 10) }
        let before = limit.value
        // Long round trips: those requests are answered degraded at their deadline, not refused.
        for step in 0..<10 {
            limit.learn(queuedMicroseconds: 30_000, serviceMicroseconds: 25_000, admitted: before, now: .now + .milliseconds(30 * step))
        }
        #expect(limit.value == before)
    }

    @Test func theQueueRefusesPastTheBoundButAnIdleServerTakesALargeRequest() {
        let queue = ScoreQueue(capacity: 1_000, lanes: 1, batchSize: 10, deadlineMilliseconds: 20)
        #expect(queue.admissionLimit == 10)
        // Idle: a request larger than the bound is taken (up to the ceiling) ...
        #expect(queue.submit((0..<50).map { AdmissionAndAnswerTests.pending("big-\($0)") }))
        // ... and while it is in flight, nothing more fits.
        #expect(!queue.submit([AdmissionAndAnswerTests.pending("more")]))
        queue.finish(50)
        #expect(queue.submit([AdmissionAndAnswerTests.pending("after")]))
    }
}

/// The admin rate limit's token bucket, on an explicit clock.
@Suite("Admin rate limit (no server)")
struct AdminRateLimiterTests {
    @Test func aKeyGetsItsBurstThenItsRateAndKeysAreIndependent() {
        let limiter = AdminRateLimiter(perSecond: 2, burst: 3)
        let start = ContinuousClock.now
        #expect((0..<3).allSatisfy { _ in limiter.take("a", now: start) == nil })
        let wait = limiter.take("a", now: start)
        #expect(wait != nil && abs((wait ?? 0) - 0.5) < 1e-9)
        #expect(limiter.take("b", now: start) == nil)  // another key has its own bucket
        #expect(limiter.take("a", now: start + .milliseconds(500)) == nil)  // half a second: one token back
        #expect(limiter.take("a", now: start + .milliseconds(500)) != nil)
        #expect((0..<3).allSatisfy { _ in limiter.take("a", now: start + .seconds(60)) == nil })  // never more than the burst
        #expect(limiter.take("a", now: start + .seconds(60)) != nil)
    }

    @Test func bucketsOfIdlePrincipalsAreSweptSoTheMapStaysBounded() {
        let limiter = AdminRateLimiter(perSecond: 10, burst: 20)
        let start = ContinuousClock.now
        // 50,000 principals, one request each, 1 ms apart: a bucket refills in 0.1 s after its request, so only
        // the last hundred or so are not full, and the map never holds many more than the sweep threshold.
        var largest = 0
        for index in 0..<50_000 {
            #expect(limiter.take("jwt:subject-\(index)", now: start + .milliseconds(index)) == nil)
            largest = max(largest, limiter.bucketCount)
        }
        #expect(largest <= AdminRateLimiter.sweepThreshold + 1)
        // A principal that is being limited keeps its (empty) bucket through a sweep.
        let busy = start + .seconds(100)
        for _ in 0..<20 { _ = limiter.take("key:ops", now: busy) }
        for index in 0..<(AdminRateLimiter.sweepThreshold + 10) { _ = limiter.take("jwt:late-\(index)", now: busy) }
        #expect(limiter.take("key:ops", now: busy) != nil)
    }
}
