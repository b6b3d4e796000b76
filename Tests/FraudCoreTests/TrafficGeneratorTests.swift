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
            let report = try await TrafficGenerator(options: options, world: WorldGenerator.generate(world)).run(redis: harness.server.configuration)
            #expect(report.sent == 500)
            let entries = try await harness.entries("fraud:transactions")
            #expect(entries.count == 500)
            #expect(entries.allSatisfy { $0["run_id"] == "run-gen" && $0["is_fraud"] != nil })
            #expect(Set(entries.compactMap { $0["transaction_id"] }).count == 500)
            let meta = try await harness.redis.send(RedisCommand("HGETALL", "fraud:stats:run:run-gen:meta")).stringPairs ?? [:]
            #expect(meta["pattern"] == "constant")
            #expect(meta["sent"] == "500")
        }
    }
}

@Suite("generate output through a pipe")
struct GenerateOutputTests {
    /// Under `tee`, CI or systemd standard output is not a terminal; progress must still arrive as it happens.
    @Test func progressLinesArriveWhileGenerating() async throws {
        try await withRedisServer { server in
            try await ChildProcess.run(
                ["generate", "--tps", "200", "--duration", "4", "--users", "200", "--redis-url", "redis://127.0.0.1:\(server.port)"]
            ) { generator in
                try await waitUntil("a progress line before the generator exits", timeout: .seconds(3)) {
                    generator.standardOutput.contains("progress ")
                }
                #expect(ChildProcess.isAlive(generator.pid))  // it is still running: the line was not flushed at exit
                #expect(generator.standardOutput.contains("/s"))
                _ = try await generator.waitForExit(timeout: .seconds(20))
            }
        }
    }
}
