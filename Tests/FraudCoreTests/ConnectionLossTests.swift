import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Lost connections against a real redis-server")
struct ConnectionLossTests {
    @Test func lostConnectionsAreRetriedWithoutLosingOrDuplicatingResults() async throws {
        try await WorkerHarness.with { harness in
            let count = 4_000
            let ids = try await harness.publish((0..<count).map { WorkerHarness.fields($0) })
            let killedClients = SampleBox()
            let resultsAtKill = SampleBox()
            var configuration = harness.configuration(consumer: "w1")
            configuration.batchSize = 50
            configuration.fetchers = 2
            configuration.writers = 2
            _ = try await harness.runWorker(
                configuration, stageDelay: .milliseconds(3),
                while: { _ in
                    // Sever every other client's connection, several times, while batches are in flight.
                    for _ in 0..<4 {
                        try await Task.sleep(for: .milliseconds(150))
                        let reply = try await harness.redis.send(RedisCommand("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
                        await killedClients.add(reply.int ?? 0)
                        await resultsAtKill.add(try await harness.length("fraud:results"))
                    }
                },
                until: { try await harness.length("fraud:results") >= count })
            let results = try await harness.entries("fraud:results")
            let sources = results.compactMap { $0["source_id"] }
            #expect(sources.count == count)  // nothing written twice
            #expect(Set(sources) == Set(ids))  // nothing lost
            #expect(try await harness.pendingCount() == 0)
            let processed = try await harness.redis.send(RedisCommand("HGET", "fraud:stats:run:run-test", "processed")).int
            #expect(processed == count)  // counters not double-counted either
            #expect(await killedClients.values.contains { $0 > 0 })  // connections were really severed
            #expect(await resultsAtKill.values.contains { $0 < count })  // while results were still being written
        }
    }
}
