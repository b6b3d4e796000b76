import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Fraud counts over time against a real redis-server")
struct TimeSeriesTests {
    /// Counts of `results` by the metric names the time series uses.
    static func expectedCounts(_ results: [[String: String]], deadLetters: Int) -> [String: Int] {
        var counts: [String: Int] = ["scored": results.count]
        if deadLetters > 0 { counts["dead_letter"] = deadLetters }
        for result in results {
            counts[result["decision"] ?? "?", default: 0] += 1
            if result["is_fraud"] == "1" { counts["fraud", default: 0] += 1 }
            for reason in (result["reasons"] ?? "").split(separator: ",") { counts["reason:\(reason)", default: 0] += 1 }
        }
        return counts
    }

    @Test func workerCountsEveryResultOncePerSecondAndPerMinute() async throws {
        try await WorkerHarness.with { harness in
            let count = 600
            var entries = (0..<count).map { WorkerHarness.fields($0) }
            entries.append([("transaction_id", "bad"), ("amount", "not a number")])
            try await harness.publish(entries)
            var configuration = harness.configuration()
            configuration.batchSize = 50
            _ = try await harness.runWorker(configuration) {
                let written = try await harness.length("fraud:results")
                let dead = try await harness.length("fraud:dead_letters")
                return written >= count && dead >= 1
            }
            let results = try await harness.entries("fraud:results")
            let expected = Self.expectedCounts(results, deadLetters: 1)
            #expect(expected["reason:ip_blocklist", default: 0] > 0)

            let series = TimeSeries(keys: TimeSeriesKeys(namespace: "fraud", resultsStream: "fraud:results"))
            let now = try await TimeSeries.serverMilliseconds(on: harness.redis)
            for resolution in [TimeSeries.Resolution.second, .minute] {
                let points = try await series.read(from: now - 120_000, to: now, resolution: resolution, on: harness.redis)
                let summed = points.reduce(into: [String: Int]()) { sums, point in
                    for (metric, value) in point.counts { sums[metric, default: 0] += value }
                }
                #expect(summed == expected, "\(resolution)")
            }
            // The live view's figure: the last minute, this second included.
            let later = try await TimeSeries.serverMilliseconds(on: harness.redis)
            #expect(try await series.totals(lastSeconds: 60, now: later, on: harness.redis)["scored"] == count)

            // Bounded: the per-second hash lives at most an hour and a minute, the per-minute one the retention and an hour.
            // Every key the run wrote is checked, whichever minutes and hours it spanned on a slow machine.
            let keys = series.keys
            let secondKeys = try await Keyspace(namespace: "fraud").keys(matching: keys.perSecond(minute: 0).dropLast() + "*", on: harness.redis)
            let minuteKeys = try await Keyspace(namespace: "fraud").keys(matching: keys.perMinute(hour: 0).dropLast() + "*", on: harness.redis)
            #expect(!secondKeys.isEmpty && !minuteKeys.isEmpty)
            for key in secondKeys {
                let ttl = try await harness.redis.send(RedisCommand("TTL", key)).int ?? -3
                #expect((1...3_660).contains(ttl), "\(key): \(ttl)")
            }
            for key in minuteKeys {
                let ttl = try await harness.redis.send(RedisCommand("TTL", key)).int ?? -3
                #expect((82_800...90_000).contains(ttl), "\(key): \(ttl)")
            }
        }
    }

    @Test func zeroRetentionWritesNoTimeSeries() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<40).map { WorkerHarness.fields($0) })
            var configuration = harness.configuration()
            configuration.timeSeriesRetentionSeconds = 0
            _ = try await harness.runWorker(configuration) { try await harness.length("fraud:results") >= 40 }
            let keys = try await Keyspace(namespace: "fraud").keys(matching: "fraud:ts:*", on: harness.redis)
            #expect(keys.isEmpty)
        }
    }
}
