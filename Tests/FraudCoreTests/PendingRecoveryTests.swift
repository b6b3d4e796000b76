import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Recovery of pending entries against a real redis-server")
struct PendingRecoveryTests {
    @Test func entriesOfADeadConsumerAreClaimedAndProcessed() async throws {
        try await WorkerHarness.with { harness in
            let ids = try await harness.publish((0..<40).map { WorkerHarness.fields($0) })
            try await harness.redis.send(RedisCommand("XGROUP", "CREATE", "fraud:transactions", "inference_workers", "0"))
            // A consumer reads 25 entries and dies without acknowledging them.
            let read = try await harness.redis.send(
                XReadGroup(group: "inference_workers", consumer: "crashed", count: 25, blockMilliseconds: nil, streams: [("fraud:transactions", ">")]))
            #expect(read.first?.entries.count == 25)
            var configuration = harness.configuration(consumer: "rescuer")
            configuration.claimIdleMilliseconds = 300
            let assembly = try await harness.runWorker(configuration) {
                try await harness.length("fraud:results") >= 40
            }
            let results = try await harness.entries("fraud:results")
            #expect(Set(results.compactMap { $0["source_id"] }) == Set(ids))
            #expect(results.count == 40)
            #expect(try await harness.pendingCount() == 0)
            #expect(await assembly.consumer.entriesClaimed >= 25)
        }
    }

    @Test func restartedWorkerRecoversItsOwnPendingEntriesOnce() async throws {
        try await WorkerHarness.with { harness in
            let ids = try await harness.publish((0..<120).map { WorkerHarness.fields($0) })
            try await harness.redis.send(RedisCommand("XGROUP", "CREATE", "fraud:transactions", "inference_workers", "0"))
            // The same consumer read everything and crashed before acknowledging.
            try await harness.redis.send(
                RedisCommand("XREADGROUP", "GROUP", "inference_workers", "w1", "COUNT", 200, "STREAMS", "fraud:transactions", ">"))
            var configuration = harness.configuration(consumer: "w1")
            configuration.batchSize = 10
            configuration.maxDeliveries = 2  // a second claim of the same entry would push it over
            let assembly = try await harness.runWorker(configuration, stageDelay: .milliseconds(5)) {
                try await harness.length("fraud:results") + harness.length("fraud:dead_letters") >= 120
            }
            let results = try await harness.entries("fraud:results")
            #expect(Set(results.compactMap { $0["source_id"] }) == Set(ids))
            #expect(try await harness.length("fraud:dead_letters") == 0)
            #expect(try await harness.pendingCount() == 0)
            // Once: each pending entry was taken back exactly one time and has exactly one result.
            #expect(await assembly.consumer.entriesRead == 120)
            #expect(await assembly.consumer.entriesClaimed == 0)  // nothing came from other consumers
            #expect(results.count == 120)
            let resultsPerSource = Dictionary(grouping: results, by: { $0["source_id"] ?? "" }).mapValues(\.count)
            #expect(resultsPerSource.count == 120)
            #expect(resultsPerSource.values.allSatisfy { $0 == 1 })
            #expect(assembly.counters.snapshot.written == 120)
        }
    }
}
