import FraudCore
import RedisClient
import RedisHarness
import Testing

@Suite("fraudstream doctor")
struct DoctorTests {
    @Test func reportsUsableServerAndWarnsAboutEvictionAndAuth() async throws {
        try await withRedisServer(extraArguments: ["--maxmemory-policy", "allkeys-lru"]) { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let report = try await RedisDoctor().examine(redis)
            #expect(report.isUsable)
            #expect(report.finding("version")?.severity == .ok)
            #expect(report.finding("maxmemory-policy")?.severity == .warn)
            #expect(report.finding("maxmemory-policy")?.detail.contains("allkeys-lru") == true)
            #expect(report.finding("persistence")?.severity == .warn)
            #expect(report.finding("auth")?.severity == .warn)
            #expect(report.finding("round-trip") != nil)
        }
    }

    @Test func seesAuthAndPersistenceWhenOn() async throws {
        try await withRedisServer(password: "pw", extraArguments: ["--appendonly", "yes"]) { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let report = try await RedisDoctor().examine(redis)
            #expect(report.finding("auth")?.severity == .ok)
            #expect(report.finding("persistence")?.severity == .ok)
            #expect(report.finding("maxmemory-policy")?.severity == .ok)
        }
    }
}
