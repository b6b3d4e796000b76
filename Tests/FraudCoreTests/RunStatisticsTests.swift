import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Run statistics against a real redis-server")
struct RunStatisticsTests {
    @Test func runsAreIsolatedAndTwoWorkersMerge() async throws {
        try await WorkerHarness.with { harness in
            let runA = (0..<300).map { WorkerHarness.fields($0, run: "run-a") }
            let runB = (300..<400).map { WorkerHarness.fields($0, run: "run-b") }
            // Two workers in parallel on the same group, both running before anything is published. Small
            // batches, two in flight and a slow stage: neither can take the whole backlog at once.
            func configuration(_ consumer: String) -> WorkerConfiguration {
                var configuration = harness.configuration(consumer: consumer)
                configuration.batchSize = 10
                configuration.maxInFlight = 2
                return configuration
            }
            let (first, second) = try await harness.withWorker(configuration("wa"), stageDelay: .milliseconds(10)) { first in
                try await harness.withWorker(configuration("wb"), stageDelay: .milliseconds(10)) { second in
                    try await harness.publish(runA + runB)
                    try await harness.waitForLength("fraud:results", atLeast: 400)
                    return (first, second)
                }
            }
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
            // Both workers did part of the work, and the parts add up exactly.
            let results = try await harness.entries("fraud:results")
            #expect(results.count == 400)
            let resultsPerWorker = Dictionary(grouping: results, by: { $0["worker_id"] ?? "" }).mapValues(\.count)
            #expect(Set(resultsPerWorker.keys) == ["wa", "wb"])
            #expect(resultsPerWorker.values.allSatisfy { $0 > 0 })
            #expect(first.counters.snapshot.written == resultsPerWorker["wa"])
            #expect(second.counters.snapshot.written == resultsPerWorker["wb"])
            for worker in ["wa", "wb"] {
                let counted = [a, b].compactMap { Int($0.workers[worker]?["processed"] ?? "") }.reduce(0, +)
                #expect(counted == resultsPerWorker[worker], "statistics of \(worker)")
            }
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
}
