import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("fraudstream monitor")
struct MonitorCommandTests {
    @Test func unknownRunIsAnErrorForStatsAndPlot() async throws {
        try await withRedisServer { server in
            let url = "redis://127.0.0.1:\(server.port)"
            let redisArguments = ["--redis-url", url]
            let seed = try await FraudStreamBinary.run(["generate", "--count", "2", "--run-id", "real"] + redisArguments)
            #expect(seed.status == 0)
            let stats = try await FraudStreamBinary.run(["monitor", "--stats", "--run-id", "nosuch"] + redisArguments)
            #expect(stats.status == 66)
            #expect(stats.standardError == "fraudstream: no run 'nosuch' under 'fraud' (fraudstream monitor --runs lists them)\n")
            let plotFile = FileManager.default.temporaryDirectory.appendingPathComponent("monitor-\(UUID().uuidString).svg").path
            let plot = try await FraudStreamBinary.run(["monitor", "--plot", plotFile, "--run-id", "nosuch"] + redisArguments)
            #expect(plot.status == 66)
            #expect(!FileManager.default.fileExists(atPath: plotFile))  // no all-zero chart
            let missingDirectory = try await FraudStreamBinary.run(["monitor", "--plot", "/nonexistent-dir/x.svg", "--run-id", "real"] + redisArguments)
            #expect(missingDirectory.status == 64)
            #expect(missingDirectory.standardError.contains("the directory /nonexistent-dir does not exist"))
        }
    }

    @Test func emptyNamespaceSaysNothingYetAndJSONNeedsAMode() async throws {
        try await withRedisServer { server in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            for mode in [["--latest"], ["--runs"]] {
                let outcome = try await FraudStreamBinary.run(["monitor"] + mode + redisArguments)
                #expect(outcome.status == 0)
                #expect(outcome.standardOutput.hasPrefix("nothing yet — run fraudstream generate"))
            }
            let live = try await FraudStreamBinary.run(["monitor", "--iterations", "1", "--refresh", "0.1"] + redisArguments)
            #expect(live.standardOutput.contains("nothing yet — run fraudstream generate"))
            let json = try await FraudStreamBinary.run(["monitor", "--json"] + redisArguments)
            #expect(json.status == 64)
            #expect(json.standardOutput.isEmpty)  // no clear-screen codes into a pipe
        }
    }

    @Test func plotAndLiveViewShowTheFraudCountsOverTime() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<300).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 300 }
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let plotFile = FileManager.default.temporaryDirectory.appendingPathComponent("monitor-\(UUID().uuidString).svg").path
            defer { try? FileManager.default.removeItem(atPath: plotFile) }
            let plot = try await FraudStreamBinary.run(["monitor", "--plot", plotFile, "--run-id", "run-test"] + redisArguments)
            #expect(plot.status == 0, "\(plot.standardError)")
            let svg = try String(contentsOfFile: plotFile, encoding: .utf8)
            for title in ["decisions per second", "fraud rate", "reasons per second (top 5)", "end-to-end latency by percentile"] {
                #expect(svg.contains(title), "\(title)")
            }
            // Axes carry units and ticks; the time panels have data (polylines), the latency panel its percentiles.
            for unit in [">tx/s<", ">%<", ">ms<", ">/s<", "time since the run&apos;s first result (s)", ">p99<"] {
                #expect(svg.contains(unit) || svg.contains(unit.replacingOccurrences(of: "&apos;", with: "'")), "\(unit)")
            }
            #expect(svg.components(separatedBy: "<polyline").count + svg.components(separatedBy: "<circle").count - 2 >= 8)
            #expect(!svg.contains("no data"))

            let live = try await FraudStreamBinary.run(["monitor", "--iterations", "1", "--refresh", "0.1"] + redisArguments)
            #expect(live.status == 0)
            #expect(live.standardOutput.contains("last 60 s    300 scored (5.0/s): approve"), "\(live.standardOutput)")
        }
    }

    /// `--latest --json` gives numbers as JSON numbers; `--latest` and the live view name their columns.
    @Test func latestJSONHasNumbersAndResultLinesHaveAColumnHeader() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<40).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 40 }
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let json = try await FraudStreamBinary.run(["monitor", "--latest", "--json", "--count", "5"] + redisArguments)
            #expect(json.status == 0, "\(json.standardError)")
            let results = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]])
            #expect(results.count == 5)
            for result in results {
                for field in ["score", "latency_ms", "queue_ms", "features_ms", "scoring_ms", "amount", "is_fraud", "model_version"] {
                    #expect(result[field] is NSNumber && !(result[field] is String), "\(field): \(String(describing: result[field]))")
                }
                #expect([0, 1].contains(result["is_fraud"] as? Int ?? -1))
                #expect((result["model_version"] as? Int ?? 0) >= 1)
                #expect((0...1).contains(result["score"] as? Double ?? -1))
                for field in ["transaction_id", "user_id", "run_id", "decision", "reasons", "worker_id", "source_id"] {
                    #expect(result[field] is String, "\(field): \(String(describing: result[field]))")
                }
            }
            // The JSON keeps the text's digits: score 0.5 stays 0.5.
            #expect(json.standardOutput.contains("\"score\" : 0.") || json.standardOutput.contains("\"score\" : 1"), "\(json.standardOutput.prefix(300))")

            let latest = try await FraudStreamBinary.run(["monitor", "--latest", "--count", "3"] + redisArguments)
            let lines = latest.standardOutput.split(separator: "\n").map(String.init)
            #expect(lines.count == 4, "\(latest.standardOutput)")
            let header = try #require(lines.first)
            #expect(header.hasPrefix("transaction") && header.contains("user") && header.contains("score") && header.contains("decision")
                && header.contains("latency ms") && header.hasSuffix("reasons"), "\(header)")
            // Values sit under their headers: the score column starts where its header does.
            let scoreColumn = try #require(header.range(of: "score")).lowerBound.utf16Offset(in: header)
            for line in lines.dropFirst() {
                let cell = line.dropFirst(scoreColumn).prefix(2)
                #expect(cell == "0." || cell == "1 " || cell == "1.", "\(line)")
            }
            let live = try await FraudStreamBinary.run(["monitor", "--iterations", "1", "--refresh", "0.1", "--count", "3"] + redisArguments)
            #expect(live.standardOutput.contains(header.trimmingCharacters(in: .whitespaces).components(separatedBy: "  ").first ?? "transaction"))
            #expect(live.standardOutput.split(separator: "\n").contains { $0.hasPrefix("transaction") && $0.hasSuffix("reasons") }, "\(live.standardOutput)")
        }
    }

    /// A run generated over 4 partitions is read whole without `--partitions`: the run's metadata says how many.
    @Test func readersTakeThePartitionCountFromTheRunsMetadata() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let generate = try await FraudStreamBinary.run(
                ["generate", "--count", "400", "--tps", "2000", "--users", "20", "--partitions", "4", "--run-id", "p4"] + redisArguments)
            #expect(generate.status == 0, "\(generate.standardError)")
            let meta = try await harness.redis.send(RedisCommand("HGETALL", "fraud:stats:run:p4:meta")).stringPairs ?? [:]
            #expect(meta["partitions"] == "4")
            var configuration = harness.configuration()
            configuration.streams = StreamNames(namespace: "fraud").partitioned(count: 4)
            let streams = configuration.streams
            _ = try await harness.runWorker(configuration) {
                var written = 0
                for partition in streams.partitions { written += try await harness.length(partition.results) }
                return written >= 400
            }
            // No --partitions: all four read.
            let stats = try await FraudStreamBinary.run(["monitor", "--stats", "--json", "--run-id", "p4"] + redisArguments)
            #expect(stats.status == 0, "\(stats.standardError)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any])
            #expect(object["transactions"] as? Int == 400, "\(stats.standardOutput.prefix(300))")
            // A different count given: still the whole run, and a line saying so.
            let two = try await FraudStreamBinary.run(["monitor", "--stats", "--run-id", "p4", "--partitions", "2"] + redisArguments)
            #expect(two.status == 0, "\(two.standardError)")
            #expect(two.standardOutput.contains("scored      400 transactions"), "\(two.standardOutput.prefix(300))")
            #expect(two.standardError == "note        run p4 was generated over 4 partition(s); reading all 4, not the 2 of --partitions\n")
            // The newest run, and the run list, without --partitions.
            let newest = try await FraudStreamBinary.run(["monitor", "--stats", "--json"] + redisArguments)
            let newestObject = try #require(try JSONSerialization.jsonObject(with: Data(newest.standardOutput.utf8)) as? [String: Any])
            #expect(newestObject["run_id"] as? String == "p4" && newestObject["transactions"] as? Int == 400)
            let runs = try await FraudStreamBinary.run(["monitor", "--runs", "--json"] + redisArguments)
            let list = try #require(try JSONSerialization.jsonObject(with: Data(runs.standardOutput.utf8)) as? [[String: Any]])
            #expect(list.first { $0["run_id"] as? String == "p4" }?["transactions"] as? Int == 400, "\(runs.standardOutput)")
        }
    }
}
