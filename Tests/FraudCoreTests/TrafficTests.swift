import Foundation
import RedisClient
import RedisHarness
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
}

@Suite("Run statistics against a real redis-server")
struct RunStatisticsTests {
    @Test func runsAreIsolatedAndTwoWorkersMerge() async throws {
        try await WorkerHarness.with { harness in
            let runA = (0..<300).map { WorkerHarness.fields($0, run: "run-a") }
            let runB = (300..<400).map { WorkerHarness.fields($0, run: "run-b") }
            try await harness.publish(runA + runB)
            // Two workers in parallel on the same group.
            async let first = harness.runWorker(harness.configuration(consumer: "wa")) { try await harness.length("fraud:results") >= 400 }
            async let second = harness.runWorker(harness.configuration(consumer: "wb")) { try await harness.length("fraud:results") >= 400 }
            _ = try await (first, second)
            let a = try await RunStatistics.load(run: "run-a", namespace: "fraud", on: harness.redis)
            let b = try await RunStatistics.load(run: "run-b", namespace: "fraud", on: harness.redis)
            #expect(a.processed == 300)
            #expect(b.processed == 100)
            #expect(a.latency["end_to_end"].count == 300)  // histograms of both workers merged
            #expect(b.latency["end_to_end"].count == 100)
            let perWorker = a.workers.values.compactMap { Int($0["processed"] ?? "") }.reduce(0, +)
            #expect(perWorker == 300)
            let runs = try await RunStatistics.runIds(namespace: "fraud", on: harness.redis).map(\.run)
            #expect(Set(runs) == ["run-a", "run-b"])
            #expect(a.latency["end_to_end"].percentile(50) > 0)
        }
    }

    @Test func statsJSONHasTheDocumentedSchema() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<50).map { WorkerHarness.fields($0, run: "run-json") })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 50 }
            let outcome = try await FraudStreamBinary.run(
                ["monitor", "--stats", "--json", "--run-id", "run-json", "--redis-url", "redis://127.0.0.1:\(harness.server.port)"])
            #expect(outcome.status == 0)
            let object = try #require(JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
            for key in ["run_id", "transactions", "fraud_detected", "dead_letters", "labelled", "confusion", "precision", "recall",
                        "throughput_per_second", "decisions", "latency", "workers", "start_ms", "end_ms", "pattern", "target_tps"] {
                #expect(object[key] != nil, "missing \(key)")
            }
            #expect(object["transactions"] as? Int == 50)
            let latency = try #require(object["latency"] as? [String: Any])
            let endToEnd = try #require(latency["end_to_end"] as? [String: Any])
            for key in ["count", "avg_ms", "p50_ms", "p95_ms", "p99_ms", "p999_ms", "min_ms", "max_ms"] {
                #expect(endToEnd[key] != nil, "missing latency.end_to_end.\(key)")
            }
            #expect(endToEnd["count"] as? Int == 50)
        }
    }

    @Test func loadTestFailsWhenNoWorkerProcessesTheRun() async throws {
        try await WorkerHarness.with { harness in
            let outcome = try await FraudStreamBinary.run([
                "load-test", "--workers", "0", "--count", "30", "--tps", "1000", "--drain-timeout", "1", "--users", "50",
                "--redis-url", "redis://127.0.0.1:\(harness.server.port)",
            ])
            #expect(outcome.status != 0)
            #expect(outcome.standardError.contains("30 transactions of run"))
            #expect(outcome.standardError.contains("left unprocessed"))
            #expect(try await harness.length("fraud:transactions") == 30)
        }
    }

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
