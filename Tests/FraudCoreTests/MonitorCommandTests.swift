import Foundation
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
}
