import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Worker results against a real redis-server")
struct WorkerResultsTests {
    @Test func everyValidEntryGetsExactlyOneResultAndIsAcknowledged() async throws {
        try await WorkerHarness.with { harness in
            let count = 1_500
            let ids = try await harness.publish((0..<count).map { WorkerHarness.fields($0) })
            var configuration = harness.configuration()
            configuration.batchSize = 64
            configuration.fetchers = 3
            configuration.writers = 2
            configuration.resultTTLSeconds = 86_400  // result keys are off by default now; this test checks them when on
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

    @Test func zeroResultTTLWritesNoPerTransactionResultKey() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<50).map { WorkerHarness.fields($0) })
            let arguments = [
                "worker", "--redis-url", "redis://127.0.0.1:\(harness.server.port)", "--consumer-name", "no-keys", "--block-ms", "100",
                "--log-level", "warning",
            ]
            try await ChildProcess.run(arguments, environment: ["RESULT_TTL": "0"]) { worker in
                try await harness.waitForLength("fraud:results", atLeast: 50)
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
            }
            #expect(try await harness.length("fraud:results") == 50)
            let keys = try await Keyspace(namespace: "fraud").keys(matching: "fraud:result:*", on: harness.redis)
            #expect(keys.isEmpty)
        }
    }
}
