import Foundation
import Testing

@testable import FraudCore

@Suite("Traffic synthesizer")
struct TrafficSynthesizerTests {
    @Test func sameSeedGivesSameStream() {
        var first = TrafficSynthesizer(world: SampleWorlds.world, seed: 5, fraudRatio: 0.05)
        var second = TrafficSynthesizer(world: SampleWorlds.world, seed: 5, fraudRatio: 0.05)
        var other = TrafficSynthesizer(world: SampleWorlds.world, seed: 6, fraudRatio: 0.05)
        let start = SampleWorlds.configuration.endMilliseconds
        var differs = false
        for step in 0..<2_000 {
            let time = start + Int64(step) * 250
            let row = first.next(timestampMilliseconds: time)
            #expect(row == second.next(timestampMilliseconds: time))
            if row != other.next(timestampMilliseconds: time) { differs = true }
        }
        #expect(differs)
    }

    /// A world prepared with card cycling plays it live too: one device per incident, working through several users'
    /// cards; the default world's traffic has none (producesTheRequestedFraudRatioWithEveryScenario).
    @Test func aWorldWithCardCyclingPlaysItLive() {
        var configuration = WorldConfiguration(users: 400, days: 2, seed: 5, merchants: 300)
        configuration.cardCyclingIncidents = 3
        let world = WorldGenerator.generate(configuration)
        var synthesizer = TrafficSynthesizer(world: world, seed: 2, fraudRatio: 0.2)
        var rows: [Transaction] = []
        for step in 0..<20_000 {
            let row = synthesizer.next(timestampMilliseconds: configuration.endMilliseconds + Int64(step) * 1_000)
            if row.scenario == FraudScenario.deviceCardCycling.rawValue { rows.append(row) }
        }
        let byDevice = Dictionary(grouping: rows, by: { $0.deviceId ?? "" })
        #expect(byDevice.count >= 3)
        // An incident runs over an hour or so of event time: those that started well before the end are complete.
        #expect(byDevice.values.contains { Set($0.map(\.userId)).count >= 5 }, "\(byDevice.mapValues { Set($0.map(\.userId)).count })")
    }

    @Test func producesTheRequestedFraudRatioWithEveryScenario() {
        var synthesizer = TrafficSynthesizer(world: SampleWorlds.world, seed: 1, fraudRatio: 0.05, runId: "run-7")
        let start = SampleWorlds.configuration.endMilliseconds
        let users = Set(SampleWorlds.world.profiles.map(\.userId))
        let merchants = Set(SampleWorlds.world.merchants.map(\.merchantId))
        var ids = Set<String>()
        var fraud = 0
        var scenarios = Set<String>()
        let count = 20_000
        for step in 0..<count {
            let time = start + Int64(step) * 100
            let row = synthesizer.next(timestampMilliseconds: time)
            #expect(row.timestampMilliseconds == time)
            #expect(row.runId == "run-7" && row.transactionId.hasPrefix("run-7-"))
            #expect(users.contains(row.userId) && merchants.contains(row.merchantId))
            ids.insert(row.transactionId)
            if row.isFraud == true {
                fraud += 1
                scenarios.insert(row.scenario ?? "")
            } else {
                #expect(row.isFraud == false && row.scenario == nil)
            }
        }
        #expect(ids.count == count)
        let ratio = Double(fraud) / Double(count)
        #expect(ratio > 0.04 && ratio < 0.065, "fraud ratio \(ratio)")
        // Live traffic plays every scenario of the default world (card cycling only comes in worlds that ask for it).
        #expect(scenarios == Set(FraudScenario.allCases.filter { $0 != .deviceCardCycling }.map(\.rawValue)))
        #expect(synthesizer.producedCount == count && synthesizer.fraudCount == fraud)
    }

    @Test func zeroRatioGivesOnlyLegitRows() {
        var synthesizer = TrafficSynthesizer(world: SampleWorlds.world, seed: 2, fraudRatio: 0)
        for step in 0..<1_000 {
            #expect(synthesizer.next(timestampMilliseconds: Int64(step) * 1_000).isFraud == false)
        }
    }

    /// `generate --count 10` at the default 0.02 once produced 7 fraud rows: an incident started at
    /// the first row and others followed while its rows were still due. Every prefix now stays near
    /// the requested share.
    @Test func everyPrefixHasAboutTheRequestedFraudRatio() {
        for seed in UInt64(1)...3 {
            var synthesizer = TrafficSynthesizer(world: SampleWorlds.world, seed: seed, fraudRatio: 0.02, runId: "run-p")
            let start = SampleWorlds.configuration.endMilliseconds
            var fraud = 0
            for step in 1...5_000 {
                if synthesizer.next(timestampMilliseconds: start + Int64(step) * 100).isFraud == true { fraud += 1 }
                if step == 10 { #expect(fraud == 0, "\(fraud) fraud rows in the first 10 (seed \(seed))") }
                if step >= 1_000 && step % 500 == 0 {
                    let ratio = Double(fraud) / Double(step)
                    #expect(ratio > 0.008 && ratio < 0.035, "fraud ratio \(ratio) after \(step) rows (seed \(seed))")
                }
            }
        }
    }
}
