import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Traffic generator against a real redis-server")
struct TrafficGeneratorTests {
    @Test func generatorPublishesLabelledTrafficWithRunMetadata() async throws {
        try await WorkerHarness.with { harness in
            var world = WorldConfiguration()
            world.users = 40
            world.days = 1
            let plan = RatePlan(pattern: .constant, targetPerSecond: 2_000, durationSeconds: nil, count: 500, seed: 3)
            var options = TrafficGenerator.Options(runId: "run-gen", plan: plan)
            options.threads = 2
            options.fraudRatio = 0.1
            options.statsTTLSeconds = 700
            let report = try await TrafficGenerator(options: options, world: WorldGenerator.generate(world)).run(redis: harness.server.configuration)
            #expect(report.sent == 500)
            let entries = try await harness.entries("fraud:transactions")
            #expect(entries.count == 500)
            #expect(entries.allSatisfy { $0["run_id"] == "run-gen" && $0["is_fraud"] != nil })
            #expect(Set(entries.compactMap { $0["transaction_id"] }).count == 500)
            let meta = try await harness.redis.send(RedisCommand("HGETALL", "fraud:stats:run:run-gen:meta")).stringPairs ?? [:]
            #expect(meta["pattern"] == "constant")
            #expect(meta["sent"] == "500")
            let ttl = try await harness.redis.send(RedisCommand("TTL", "fraud:stats:run:run-gen:meta")).int ?? -3
            #expect((1...700).contains(ttl))  // STATS_TTL
        }
    }
}
