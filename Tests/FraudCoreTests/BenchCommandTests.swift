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
}
