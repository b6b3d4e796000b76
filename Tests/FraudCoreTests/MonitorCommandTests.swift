import Foundation
import RedisHarness
import Testing

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
}
