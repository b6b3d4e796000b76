import Foundation
import RedisClient
import RedisHarness
import Testing

@Suite("fraudstream bench against a user's server")
struct BenchCommandTests {
    @Test func clientBenchmarkLeavesNoKeyBehind() async throws {
        try await withRedisServer { server in
            let outcome = try await FraudStreamBinary.run(
                ["bench", "--suite", "client", "--requests", "2000", "--repeats", "1", "--clients", "2", "--swift-clients", "1",
                 "--redis-url", "redis://127.0.0.1:\(server.port)"])
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
            #expect(outcome.standardOutput.contains("fraudstream client SET"))
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(try await redis.send(RedisCommand("DBSIZE")).int == 0)
        }
    }

    /// The floor suite records a drain with MONITOR and replays it: every recorded command replays without an error, the
    /// floor covers every function the drain called, and the user's server is left without the bench's keys but its own.
    @Test func floorSuiteRecordsADrainAndReplaysItWithoutErrors() async throws {
        try await withRedisServer { server in
            let outcome = try await FraudStreamBinary.run(
                ["bench", "--suite", "floor", "--transactions", "1500", "--drain-repeats", "1", "--drain-users", "300",
                 "--redis-url", "redis://127.0.0.1:\(server.port)"])
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
            let output = outcome.standardOutput
            let floorLine = output.split(separator: "\n").first { $0.hasPrefix("floor: the drain's commands, native") }.map(String.init) ?? ""
            // "… 17.9 commands per transaction, recorded from a drain of 1500 …": the functions' commands were captured.
            let perTransaction = floorLine.components(separatedBy: " commands per transaction").first?.split(separator: " ").last.flatMap { Double($0) } ?? 0
            #expect(perTransaction > 10, "\(floorLine)")
            #expect(floorLine.contains("recorded from a drain of 1500"), "\(floorLine)")
            // Every replay (the floor, the drain as sent, each function's pair) ran without an error reply.
            let replays = output.split(separator: "\n").filter { $0.contains("error replies") }
            #expect(replays.count >= 5 && replays.allSatisfy { $0.contains("(0 error replies)") }, "\(output)")
            for function in ["fs_user_features", "fs_device_events", "fs_write_batch"] {
                #expect(output.contains("Lua of \(function)"), "\(output)")
            }
        }
    }
}
