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
            #expect(meta["partitions"] == "1")
            #expect(meta["run_number"] == "1")
        }
    }

    /// Consecutive runs in one namespace: event time moves forward (each run at a UTC midnight a quiet day after
    /// the previous run's end), every transaction carries its planned time, and the second run has incidents of
    /// its own (a different traffic seed) with the same schedule.
    @Test func consecutiveRunsContinueTheEventClockWithTheirOwnTraffic() async throws {
        try await WorkerHarness.with { harness in
            var world = WorldConfiguration()
            world.users = 60
            world.days = 1
            let synthetic = WorldGenerator.generate(world)
            let plan = RatePlan(pattern: .constant, targetPerSecond: 1_000, durationSeconds: nil, count: 300, seed: 3)
            var ends: [Int64] = []
            var runs: [[[String: String]]] = []
            for run in ["first", "second"] {
                var options = TrafficGenerator.Options(runId: run, plan: plan)
                options.timeScale = 3_600
                options.fraudRatio = 0.1
                let report = try await TrafficGenerator(options: options, world: synthetic).run(redis: harness.server.configuration)
                #expect(report.startEventMilliseconds % EventClock.dayMilliseconds == 0)
                #expect(report.runNumber == (run == "first" ? 1 : 2))
                if let end = ends.last { #expect(report.startEventMilliseconds >= end + EventClock.quietMilliseconds) }
                let entries = try await harness.entries("fraud:transactions").filter { $0["run_id"] == run }
                #expect(entries.count == 300)
                for (number, entry) in entries.enumerated() {
                    let planned = TrafficLane.eventMilliseconds(
                        ofTransaction: number, plan: plan, startEventMilliseconds: report.startEventMilliseconds, timeScale: 3_600)
                    #expect(entry["timestamp"] == String(planned))
                }
                let meta = try await harness.redis.send(RedisCommand("HGETALL", "fraud:stats:run:\(run):meta")).stringPairs ?? [:]
                #expect(meta["start_event_ms"] == String(report.startEventMilliseconds))
                let clock = try await harness.redis.send(RedisCommand("GET", "fraud:generator:event_clock")).int.map(Int64.init)
                ends.append(try #require(clock))
                #expect(meta["end_event_ms"] == String(ends.last ?? 0))
                runs.append(entries)
            }
            let firstUsers = runs[0].map { $0["user_id"] ?? "" }
            let secondUsers = runs[1].map { $0["user_id"] ?? "" }
            #expect(firstUsers != secondUsers)
        }
    }
}

@Suite("generate output through a pipe")
struct GenerateOutputTests {
    /// Under `tee`, CI or systemd standard output is not a terminal; progress must still arrive as it happens.
    @Test func progressLinesArriveWhileGenerating() async throws {
        try await withRedisServer { server in
            try await ChildProcess.run(
                ["generate", "--tps", "100", "--duration", "60", "--users", "200", "--redis-url", "redis://127.0.0.1:\(server.port)"]
            ) { generator in
                // A minute-long run: a line that only came at exit would miss this deadline.
                try await waitUntil("a progress line while the generator runs", timeout: .seconds(20)) {
                    generator.standardOutput.contains("progress ")
                }
                #expect(ChildProcess.isAlive(generator.pid))
                #expect(generator.standardOutput.contains("/s"))
            }  // the generator is killed here
        }
    }
}

@Suite("generate against what prepare left in Redis")
struct GenerateRunTests {
    @Test func reusedRunIdIsRefusedUnlessAppending() async throws {
        try await withRedisServer { server in
            let url = "redis://127.0.0.1:\(server.port)"
            let first = try await FraudStreamBinary.run(["generate", "--count", "3", "--run-id", "once", "--redis-url", url])
            #expect(first.status == 0, "stderr: \(first.standardError)")
            let again = try await FraudStreamBinary.run(["generate", "--count", "3", "--run-id", "once", "--redis-url", url])
            #expect(again.status == 64)
            #expect(again.standardError == "fraudstream: run 'once' already has statistics; choose another --run-id, or add --append-run to add to it\n")
            let appended = try await FraudStreamBinary.run(["generate", "--count", "3", "--run-id", "once", "--append-run", "--redis-url", url])
            #expect(appended.status == 0, "stderr: \(appended.standardError)")
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(try await redis.send(RedisCommand("XLEN", "fraud:transactions")).int == 6)
        }
    }

    @Test func generateUsesThePreparedWorldByDefault() async throws {
        try await withRedisServer { server in
            let url = "redis://127.0.0.1:\(server.port)"
            let redis = try await RedisConnection.connect(server.configuration)
            var configuration = WorldConfiguration()
            configuration.users = 150
            configuration.days = 1
            configuration.seed = 9
            try await PreparedWorld(users: configuration.users, seed: configuration.seed).save(namespace: "fraud", on: redis)
            let outcome = try await FraudStreamBinary.run(["generate", "--count", "40", "--run-id", "w", "--redis-url", url])
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
            #expect(!outcome.standardOutput.contains("warning"))
            let users = Set(WorldGenerator.generate(configuration).profiles.map(\.userId))
            let published = try await redis.send(XRange(stream: "fraud:transactions")).compactMap { $0.value(of: "user_id") }
            #expect(published.count == 40)
            #expect(Set(published).isSubset(of: users), "users outside the prepared world: \(Set(published).subtracting(users))")
            let mismatch = try await FraudStreamBinary.run(["generate", "--count", "1", "--run-id", "x", "--users", "99", "--redis-url", url])
            #expect(mismatch.standardOutput.contains("warning     the prepared world has --users 150 --world-seed 9"))
        }
    }
}
