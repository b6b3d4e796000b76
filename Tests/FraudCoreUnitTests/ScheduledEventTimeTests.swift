import Foundation
import Testing

@testable import FraudCore

/// Event time of generated traffic comes from the schedule (no clock, no server): the same seed gives the same
/// labelled stream whatever the machine's speed.
@Suite("Scheduled event time (no server)")
struct ScheduledEventTimeTests {
    static let plan = RatePlan(pattern: .wave, targetPerSecond: 2_000, durationSeconds: nil, count: 6_000, seed: 3)
    static let start: Int64 = 1_796_601_600_000  // 2026-12-07T00:00:00Z

    static func lane(_ lane: Int, of lanes: Int, seed: UInt64 = 11) -> TrafficLane {
        TrafficLane(
            world: SampleWorlds.world, seed: seed, fraudRatio: 0.05, runId: "r", plan: plan, lane: lane, lanes: lanes,
            startEventMilliseconds: start, timeScale: 500)
    }

    @Test func plannedMomentsAreWhereTheScheduleReachesEachTransaction() {
        var previous = -1.0
        for n in 1...Self.plan.totalCount {
            let moment = Self.plan.plannedSecond(ofTransaction: n)
            #expect(moment > previous, "transaction \(n) at \(moment) s, not after \(previous) s")
            previous = moment
            // The pacing sends transaction n once its planned moment has come (within float rounding), not before.
            #expect(Self.plan.dueCount(atSecond: moment + 1e-9) >= n)
            #expect(Self.plan.dueCount(atSecond: moment - 1e-4) < n)
        }
        #expect(previous <= Self.plan.durationSeconds)
    }

    @Test func eachTransactionCarriesItsPlannedTimeAndTheSameSeedGivesTheSameStream() {
        var first = Self.lane(0, of: 1)
        var second = Self.lane(0, of: 1)
        var other = Self.lane(0, of: 1, seed: 12)
        var differs = false
        var last: Int64 = 0
        for number in 0..<Self.plan.totalCount {
            let row = first.next()
            #expect(row == second.next())
            if row != other.next() { differs = true }
            let planned = Self.start + Int64((Self.plan.plannedSecond(ofTransaction: number + 1) * 500 * 1000).rounded())
            #expect(row.timestampMilliseconds == planned)
            #expect(row.timestampMilliseconds >= last)
            last = row.timestampMilliseconds
            #expect(row.transactionId == "r-0-\(number)")
        }
        #expect(differs)
        // At 2,000/s × 500 consecutive transactions are about 250 ms of event time apart: never stamped alike.
        #expect(last - Self.start > 1_000_000)
    }

    /// Lanes split the run's numbers and its users: a user's rows all come from one lane, in event-time order.
    @Test func lanesShareNeitherTransactionsNorUsers() {
        var lanes = (0..<3).map { Self.lane($0, of: 3) }
        var numbers = Set<Int64>()
        var laneOfUser: [String: Int] = [:]
        for number in 0..<Self.plan.totalCount {
            let index = number % 3
            let expected = TrafficLane.eventMilliseconds(
                ofTransaction: number, plan: Self.plan, startEventMilliseconds: Self.start, timeScale: 500)
            let row = lanes[index].next()
            #expect(row.timestampMilliseconds == expected)
            numbers.insert(expected)
            if let lane = laneOfUser[row.userId] {
                #expect(lane == index, "user \(row.userId) in lanes \(lane) and \(index)")
            }
            laneOfUser[row.userId] = index
        }
        #expect(lanes.map(\.produced) == [2_000, 2_000, 2_000])
        #expect(Set(laneOfUser.values) == [0, 1, 2])
    }

    @Test func runsStartAtMidnightAQuietDayAfterThePreviousRun() {
        let day = EventClock.dayMilliseconds
        let now: Int64 = 1_796_558_961_537  // 2026-12-06T11:29Z
        #expect(EventClock.runStart(previousEnd: nil, now: now) == 1_796_601_600_000)  // the next midnight
        #expect(EventClock.runStart(previousEnd: nil, now: 1_796_601_600_000) == 1_796_601_600_000)  // already one
        // A previous run ending in the evening: a full quiet day after it, then the next midnight.
        let end = 1_796_601_600_000 + 20 * 3_600_000
        #expect(EventClock.runStart(previousEnd: Int64(end), now: now) == 1_796_601_600_000 + 2 * day)
        // A previous run far ahead of the wall clock sets the start; one long past does not.
        #expect(EventClock.runStart(previousEnd: 1_796_601_600_000 + 10 * day, now: now) == 1_796_601_600_000 + 11 * day)
        #expect(EventClock.runStart(previousEnd: 1_700_000_000_000, now: now) == 1_796_601_600_000)
    }

    /// A namespace's first run uses --seed; later runs get incidents of their own, reproducibly.
    @Test func laterRunsOfANamespaceDrawTheirOwnTraffic() {
        #expect(EventClock.trafficSeed(7, runNumber: 1) == 7)
        let later = (2...6).map { EventClock.trafficSeed(7, runNumber: $0) }
        #expect(Set(later + [7]).count == 6)
        #expect(later == (2...6).map { EventClock.trafficSeed(7, runNumber: $0) })
        #expect(EventClock.trafficSeed(8, runNumber: 2) != EventClock.trafficSeed(7, runNumber: 2))
    }

    @Test func streamsOnAClusterGetAPartitionTagUnlessTheyShareOne() {
        let plain = StreamNames(resolving: SettingsResolver(environment: [:]), serverIsCluster: false)
        #expect(plain.transactions == "fraud:transactions" && !plain.isPartitioned)
        let detected = StreamNames(resolving: SettingsResolver(environment: [:]), serverIsCluster: true)
        #expect(detected.transactions == "fraud:transactions:{p0}" && detected.results == "fraud:results:{p0}")
        let asked = StreamNames(resolving: SettingsResolver(environment: ["REDIS_CLUSTER": "1"]), serverIsCluster: false)
        #expect(asked == detected)
        #expect(plain.onCluster(true) == detected)
        let tagged = StreamNames(
            resolving: SettingsResolver(environment: [
                "TRANSACTION_STREAM": "in{t}", "FRAUD_RESULTS_STREAM": "out{t}", "DEAD_LETTER_STREAM": "dead{t}",
            ]), serverIsCluster: true)
        #expect(tagged.transactions == "in{t}" && tagged.results == "out{t}")
        let four = StreamNames(resolving: SettingsResolver(environment: ["PARTITIONS": "4"]), serverIsCluster: true)
        #expect(four.partitionCount == 4 && four.partition(3).transactions == "fraud:transactions:{p3}")
        // A reader taking a run's recorded partition count.
        #expect(plain.withPartitionCount(4, onCluster: false).partitions.map(\.results) == four.partitions.map(\.results))
        #expect(four.withPartitionCount(1, onCluster: false) == plain)
        #expect(four.withPartitionCount(1, onCluster: true) == detected)
    }
}
