import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Worker pipeline against a real redis-server")
struct WorkerTests {
    @Test func everyValidEntryGetsExactlyOneResultAndIsAcknowledged() async throws {
        try await WorkerHarness.with { harness in
            let count = 1_500
            let ids = try await harness.publish((0..<count).map { WorkerHarness.fields($0) })
            var configuration = harness.configuration()
            configuration.batchSize = 64
            configuration.fetchers = 3
            configuration.writers = 2
            let assembly = try await harness.runWorker(configuration) {
                try await harness.length("fraud:results") >= count
            }
            let results = try await harness.entries("fraud:results")
            #expect(results.count == count)
            #expect(Set(results.compactMap { $0["source_id"] }) == Set(ids))
            #expect(Set(results.compactMap { $0["transaction_id"] }).count == count)
            #expect(try await harness.pendingCount() == 0)
            let first = try #require(results.first)
            for field in ["transaction_id", "user_id", "run_id", "score", "is_fraud", "decision", "reasons", "model_version",
                          "worker_id", "source_id", "latency_ms", "queue_ms", "features_ms", "scoring_ms"] {
                #expect(first[field] != nil, "missing \(field)")
            }
            #expect(first["worker_id"] == "w1")
            #expect(["approve", "review", "decline"].contains(first["decision"] ?? ""))
            #expect(results.contains { ($0["reasons"] ?? "").contains("ip_blocklist") })
            #expect(results.contains { ($0["reasons"] ?? "").contains("new_user") })  // u20…u24 have no profile
            // The result key for look-up by id.
            let stored = try await harness.redis.send(RedisCommand("GET", "fraud:result:tx-7")).string ?? ""
            #expect(stored.contains("\"transaction_id\":\"tx-7\""))
            let ttl = try await harness.redis.send(RedisCommand("TTL", "fraud:result:tx-7")).int ?? 0
            #expect(ttl > 86_000)
            // Statistics: exact counts and the confusion matrix.
            let stats = try await harness.redis.send(RedisCommand("HGETALL", "fraud:stats:run:run-test")).stringPairs ?? [:]
            #expect(stats["processed"] == String(count))
            let confusion = ["tp", "fp", "tn", "fn"].map { Int(stats[$0] ?? "0") ?? 0 }.reduce(0, +)
            #expect(confusion == count)
            #expect(assembly.counters.snapshot.written == count)
        }
    }

    @Test func malformedEntriesEndInDeadLetterStreamWithReason() async throws {
        try await WorkerHarness.with { harness in
            var bad = WorkerHarness.fields(1)
            bad.removeAll { $0.0 == "amount" }
            let negative = WorkerHarness.fields(2, amount: -5)
            let garbage = [("data", "{oops"), ("run_id", "run-test")]
            try await harness.publish([WorkerHarness.fields(0), bad, negative, garbage, WorkerHarness.fields(3)])
            var configuration = harness.configuration()
            configuration.maxStreamLength = 0  // no caps at all: the retention service must stay idle, not end the worker
            _ = try await harness.runWorker(configuration) {
                let dead = try await harness.length("fraud:dead_letters")
                let written = try await harness.length("fraud:results")
                return dead >= 3 && written >= 2
            }
            let dead = try await harness.entries("fraud:dead_letters")
            #expect(dead.count == 3)
            #expect(dead.map { $0["reason"] ?? "" }.sorted() == [
                "amount '-5.0' is not a finite decimal > 0", "field 'data' is not a flat JSON object",
                "missing required field 'amount'",
            ])
            #expect(dead.allSatisfy { $0["source_id"] != nil })
            #expect(dead.contains { $0["transaction_id"] == "tx-1" })  // original fields kept
            #expect(try await harness.length("fraud:results") == 2)
            #expect(try await harness.pendingCount() == 0)
            let stats = try await harness.redis.send(RedisCommand("HGET", "fraud:stats:run:run-test", "dead_letters")).int
            #expect(stats == 3)
        }
    }

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
            _ = try await harness.runWorker(configuration, stageDelay: .milliseconds(5)) {
                try await harness.length("fraud:results") + harness.length("fraud:dead_letters") >= 120
            }
            let results = try await harness.entries("fraud:results")
            #expect(Set(results.compactMap { $0["source_id"] }) == Set(ids))
            #expect(try await harness.length("fraud:dead_letters") == 0)
            #expect(try await harness.pendingCount() == 0)
        }
    }

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

    @Test func restartedWorkerAddsToItsLatencyHistogramsInsteadOfOverwriting() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<200).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration(consumer: "same")) { try await harness.length("fraud:results") >= 200 }
            try await harness.publish((200..<300).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration(consumer: "same")) { try await harness.length("fraud:results") >= 300 }
            let statistics = try await RunStatistics.load(run: "run-test", namespace: "fraud", on: harness.redis)
            #expect(statistics.processed == 300)
            #expect(statistics.latency["end_to_end"].count == 300)
            #expect(statistics.latency["write"].count == 300)
            #expect(Array(statistics.workers.keys) == ["same"])
        }
    }

    @Test func inputStreamIsTrimmedOnlyBelowWhatEveryGroupAcknowledged() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<600).map { WorkerHarness.fields($0) })
            // A second group that has read nothing pins the whole stream.
            try await harness.redis.send(RedisCommand("XGROUP", "CREATE", "fraud:transactions", "audit", "0"))
            @Sendable func processed() async throws -> Int {
                try await harness.redis.send(RedisCommand("HGET", "fraud:stats:run:run-test", "processed")).int ?? 0
            }
            var configuration = harness.configuration()
            configuration.maxStreamLength = 100
            configuration.retentionCheckMilliseconds = 50
            _ = try await harness.runWorker(configuration, while: { _ in try await Task.sleep(for: .milliseconds(300)) }) {
                try await processed() >= 600
            }
            #expect(try await harness.length("fraud:transactions") == 600)  // nothing the audit group needs is gone
            try await harness.redis.send(RedisCommand("XGROUP", "DESTROY", "fraud:transactions", "audit"))
            _ = try await harness.runWorker(configuration, timeout: .seconds(1)) { false }
            let remaining = try await harness.length("fraud:transactions")
            #expect(remaining < 600)  // acknowledged entries trimmed (approximately, in whole nodes)
            #expect(try await processed() == 600)
            #expect(try await harness.length("fraud:results") < 600)  // the same cap bounds the results stream
            #expect(try await harness.pendingCount() == 0)
        }
    }

    @Test func entryDeliveredTooOftenIsDeadLettered() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish([WorkerHarness.fields(0)])
            try await harness.redis.send(RedisCommand("XGROUP", "CREATE", "fraud:transactions", "inference_workers", "0"))
            // Three deliveries that crashed: read by a, then claimed by b and by c.
            let read = try await harness.redis.send(
                XReadGroup(group: "inference_workers", consumer: "a", count: 10, blockMilliseconds: nil, streams: [("fraud:transactions", ">")]))
            let id = try #require(read.first?.entries.first?.id)
            try await harness.redis.send(RedisCommand("XCLAIM", "fraud:transactions", "inference_workers", "b", 0, id))
            try await harness.redis.send(RedisCommand("XCLAIM", "fraud:transactions", "inference_workers", "c", 0, id))
            var configuration = harness.configuration(consumer: "w")
            configuration.claimIdleMilliseconds = 200
            configuration.maxDeliveries = 2
            _ = try await harness.runWorker(configuration) { try await harness.length("fraud:dead_letters") >= 1 }
            let dead = try await harness.entries("fraud:dead_letters")
            #expect(dead.count == 1)
            #expect(dead.first?["reason"]?.hasPrefix("delivered") == true)
            #expect(try await harness.length("fraud:results") == 0)
            #expect(try await harness.pendingCount() == 0)
        }
    }

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

    @Test func backpressureBoundsInFlightEntriesWhenAStageIsSlow() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<600).map { WorkerHarness.fields($0) })
            var configuration = harness.configuration()
            configuration.batchSize = 20
            configuration.maxInFlight = 3
            let samples = SampleBox()
            let assembly = try await harness.runWorker(
                configuration, stageDelay: .milliseconds(40),
                while: { _ in
                    // Sample how many entries the group has delivered but not acknowledged.
                    for _ in 0..<20 {
                        try await Task.sleep(for: .milliseconds(30))
                        await samples.add(try await harness.pendingCount())
                    }
                },
                until: { try await harness.length("fraud:results") >= 600 })
            #expect(await assembly.limiter.highWaterMark <= 3)
            let observed = await samples.values
            #expect(observed.max() ?? 0 <= 3 * 20)
            #expect(observed.contains { $0 > 0 })  // the pipeline was busy while sampled
            // 600 entries were available, yet reading stayed within the bound.
            #expect(try await harness.length("fraud:results") == 600)
        }
    }

    @Test func promotedModelIsServedWithoutRestart() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<50).map { WorkerHarness.fields($0) })
            let assembly = try await harness.runWorker(
                harness.configuration(),
                while: { _ in
                    while try await harness.length("fraud:results") < 50 { try await Task.sleep(for: .milliseconds(20)) }
                    let store = ModelStore(namespace: "fraud")
                    _ = try await store.save(WorkerHarness.tinyModel(seed: 2), promote: true, on: harness.redis)
                    try await Task.sleep(for: .milliseconds(400))
                    try await harness.publish((50..<100).map { WorkerHarness.fields($0) })
                },
                until: { try await harness.length("fraud:results") >= 100 })
            let versions = try await harness.entries("fraud:results").map { $0["model_version"] ?? "" }
            #expect(versions.prefix(50).allSatisfy { $0 == "1" })
            #expect(versions.suffix(50).allSatisfy { $0 == "2" })
            #expect(await assembly.scorer.modelVersion == 2)
        }
    }
}

actor SampleBox {
    var values: [Int] = []
    func add(_ value: Int) { values.append(value) }
}
