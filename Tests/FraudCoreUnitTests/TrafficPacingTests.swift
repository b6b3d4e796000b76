import Foundation
import Testing

@testable import FraudCore

@Suite("Traffic pacing and patterns (fake clock, no server)")
struct TrafficPacingTests {
    @Test func pacingOnAFakeClockSendsExactlyThePlanAtTheRate() {
        let plan = RatePlan(pattern: .constant, targetPerSecond: 50_000, durationSeconds: nil, count: 100_000, seed: 1)
        #expect(plan.totalCount == 100_000)
        #expect(abs(plan.durationSeconds - 2) < 1e-9)
        var lanes = (0..<3).map { PacingState(plan: plan, lane: $0, lanes: 3) }
        var sentByHalfSecond = 0
        // A fake clock ticking every 0.7 ms; senders take what is due at each tick.
        var t = 0.0
        while lanes.contains(where: { !$0.isFinished }) {
            t += 0.0007
            for index in lanes.indices { _ = lanes[index].take(atSecond: t) }
            if abs(t - 0.5) < 0.00035 { sentByHalfSecond = lanes.map(\.sent).reduce(0, +) }
            if t > 10 { break }
        }
        #expect(lanes.map(\.sent).reduce(0, +) == 100_000)
        #expect(lanes.map(\.sent) == [33_334, 33_333, 33_333])
        #expect(abs(Double(sentByHalfSecond) - 25_000) <= 60)  // on schedule, within one tick's worth
        #expect(t <= 2.001)  // finished on time: achieved rate equals the target
    }

    @Test func nextDueTimeIsWhenTheScheduleReachesTheNextTransaction() {
        let plan = RatePlan(pattern: .constant, targetPerSecond: 100, durationSeconds: 1, count: nil, seed: 1)
        var state = PacingState(plan: plan)
        #expect(state.take(atSecond: 0.105) == 10)
        #expect(abs(state.nextDueSecond - 0.11) < 0.0011)
        #expect(state.take(atSecond: 0.105) == 0)  // nothing sent twice
    }

    @Test func patternsShapeTheRate() {
        let wave = RatePlan(pattern: .wave, targetPerSecond: 1_000, durationSeconds: 60, count: nil, seed: 1)
        #expect(abs(wave.rate(atSecond: 15) - 1_500) < 1)
        #expect(abs(wave.rate(atSecond: 45) - 500) < 1)
        #expect(abs(Double(wave.totalCount) - 60_000) < 10)  // sinusoid averages to the target
        let spike = RatePlan(pattern: .spike, targetPerSecond: 1_000, durationSeconds: 100, count: nil, seed: 1)
        #expect(spike.rate(atSecond: 50) == 5_000)
        #expect(spike.rate(atSecond: 10) == 1_000)
        #expect(spike.dueCount(atSecond: 55) - spike.dueCount(atSecond: 45) > 4 * (spike.dueCount(atSecond: 20) - spike.dueCount(atSecond: 10)))
        let random = RatePlan(pattern: .random, targetPerSecond: 1_000, durationSeconds: 30, count: nil, seed: 7)
        let rates = (0..<30).map { random.rate(atSecond: Double($0) + 0.5) }
        #expect(rates.allSatisfy { (500...1_500).contains($0) })
        #expect(Set(rates.map { Int($0) }).count > 10)
        #expect(RatePlan(pattern: .random, targetPerSecond: 1_000, durationSeconds: 30, count: nil, seed: 7).totalCount == random.totalCount)
        let constant = RatePlan(pattern: .constant, targetPerSecond: 1_000, durationSeconds: 10, count: nil, seed: 1)
        #expect(constant.totalCount == 10_000)
        #expect(constant.dueCount(atSecond: 5) == 5_000)
    }

    @Test func runIdsLookLikeTheReferencePipeline() {
        let id = TrafficGenerator.makeRunId(now: Date(timeIntervalSince1970: 1_795_435_200), seed: 0xABCD)
        #expect(id == "run-20261123-120000-abcd")
    }

    /// The printed target, the stored `target_tps` and the report's target are this one number.
    @Test func spikeAverageIncludesTheSpike() {
        let plan = RatePlan(pattern: .spike, targetPerSecond: 100, durationSeconds: 10, count: nil, seed: 1)
        #expect(plan.targetPerSecond == 100)
        #expect(abs(plan.averagePerSecond - 140) < 1)  // 5× for a tenth of the time
        let constant = RatePlan(pattern: .constant, targetPerSecond: 100, durationSeconds: 10, count: nil, seed: 1)
        #expect(abs(constant.averagePerSecond - 100) < 0.5)
    }
}
