import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Redis round trips per batch against a real redis-server")
struct RoundTripsPerBatchTests {
    @Test(arguments: [1, 2])
    func drainedBatchCostsOneReadOneFeatureTripPerFetcherAndOneWrite(fetchers: Int) async throws {
        try await WorkerHarness.with { harness in
            let count = 600
            let batchSize = 50
            try await harness.publish((0..<count).map { WorkerHarness.fields($0) })
            // Every batch holds all 25 users, so it needs every fetcher: one trip each.
            #expect(Set((0..<25).map { FeatureStage.route("u\($0)", fetchers: fetchers) }).count == fetchers)
            var configuration = harness.configuration()
            configuration.batchSize = batchSize
            configuration.fetchers = fetchers
            configuration.claimIdleMilliseconds = 60_000  // no claims
            configuration.blockMilliseconds = 2_000  // no idle read returns while the backlog drains
            let snapshot = try await harness.withWorker(configuration) { assembly in
                try await waitUntil("\(count) results written") { assembly.counters.snapshot.written >= count }
                return assembly.counters.snapshot
            }
            #expect(snapshot.written == count)
            #expect(snapshot.batches == count / batchSize)
            let perBatch = 1 + fetchers + 1  // XREADGROUP, one pipelined feature round trip per fetcher, write+ack
            #expect(snapshot.roundTrips >= snapshot.batches * perBatch)
            #expect(snapshot.roundTrips <= snapshot.batches * perBatch + 1, "at most one idle read besides the batches")
            #expect(try await harness.length("fraud:results") == count)
        }
    }
}
