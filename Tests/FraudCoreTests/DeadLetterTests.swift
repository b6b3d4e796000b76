import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Dead letters against a real redis-server")
struct DeadLetterTests {
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

    /// Redis's clock in milliseconds (dead letters are stamped with it).
    static func redisMilliseconds(_ harness: WorkerHarness) async throws -> Int64 {
        let time = try await harness.redis.send(RedisCommand("TIME")).array ?? []
        let seconds = Int64(time.first?.string ?? "") ?? 0
        let microseconds = Int64(time.last?.string ?? "") ?? 0
        return seconds * 1000 + microseconds / 1000
    }

    @Test func deadLettersCarryWorkerIdAndFailureTime() async throws {
        try await WorkerHarness.with { harness in
            var missingAmount = WorkerHarness.fields(1)
            missingAmount.removeAll { $0.0 == "amount" }
            try await harness.publish([missingAmount, WorkerHarness.fields(2, amount: -5)])
            let before = try await Self.redisMilliseconds(harness)
            _ = try await harness.runWorker(harness.configuration(consumer: "dead-letterer")) {
                try await harness.length("fraud:dead_letters") >= 2
            }
            let after = try await Self.redisMilliseconds(harness)
            let dead = try await harness.entries("fraud:dead_letters")
            #expect(dead.count == 2)
            for entry in dead {
                #expect(entry["worker_id"] == "dead-letterer")
                let failedAt = try #require(entry["failed_at_ms"].flatMap { Int64($0) }, "failed_at_ms in \(entry)")
                #expect((before...after).contains(failedAt))
            }
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
            #expect(dead.first?["worker_id"] == "w")
            #expect(dead.first?["failed_at_ms"].flatMap { Int64($0) } != nil)
            #expect(try await harness.length("fraud:results") == 0)
            #expect(try await harness.pendingCount() == 0)
        }
    }
}
