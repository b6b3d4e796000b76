import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Graceful shutdown against a real redis-server")
struct GracefulShutdownTests {
    @Test func gracefulShutdownLosesNothing() async throws {
        try await WorkerHarness.with { harness in
            let count = 3_000
            let ids = try await harness.publish((0..<count).map { WorkerHarness.fields($0) })
            var configuration = harness.configuration(consumer: "first")
            configuration.batchSize = 50
            // Stop the first worker after it has written some, mid-stream.
            _ = try await harness.runWorker(configuration, stageDelay: .milliseconds(5)) {
                try await harness.length("fraud:results") >= 300
            }
            let afterFirst = try await harness.length("fraud:results")
            #expect(afterFirst < count)
            #expect(try await harness.pendingCount() == 0)  // drained: everything read was written and acknowledged
            _ = try await harness.runWorker(harness.configuration(consumer: "second")) {
                try await harness.length("fraud:results") >= count
            }
            let results = try await harness.entries("fraud:results")
            #expect(results.count == count)
            #expect(Set(results.compactMap { $0["source_id"] }) == Set(ids))
            #expect(Set(results.compactMap { $0["worker_id"] }) == ["first", "second"])
            // Drained workers leave the group; their names do not pile up.
            let consumers = try await harness.redis.send(RedisCommand("XINFO", "CONSUMERS", "fraud:transactions", "inference_workers"))
            let names = (consumers.array ?? []).compactMap { $0.stringPairs?["name"] }
            #expect(names.isEmpty)
        }
    }
}
