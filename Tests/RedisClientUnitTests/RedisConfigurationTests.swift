import RedisClient
import Testing

@Suite("Configuration from REDIS_URL and environment (no server)")
struct RedisConfigurationTests {
    @Test func parsesFullTCPURL() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:s%40cret@redis.example:6380/3")
        #expect(configuration.endpoint == .tcp(host: "redis.example", port: 6380))
        #expect(configuration.username == "alice")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == 3)
        #expect(!configuration.description.contains("s@cret"))
    }

    @Test func parsesPasswordOnlyAndDefaults() throws {
        let configuration = try RedisConfiguration(url: "redis://:pw@localhost")
        #expect(configuration.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(configuration.username == nil)
        #expect(configuration.password == "pw")
        #expect(configuration.database == 0)
    }

    @Test func parsesIPv6AndUnixSocket() throws {
        #expect(try RedisConfiguration(url: "redis://[::1]:7000").endpoint == .tcp(host: "::1", port: 7000))
        let unix = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=2")
        #expect(unix.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(unix.database == 2)
    }

    @Test func rejectsMalformedURLs() {
        for url in ["http://x", "redis://host:notaport", "redis://host:99999", "redis://host/abc", "rediss://h:notaport", "unix://relative"] {
            #expect(throws: RedisError.self, "\(url)") { try RedisConfiguration(url: url) }
        }
    }

    @Test func environmentFallsBackToHostPortPasswordThenLocalServer() throws {
        let fromParts = try RedisConfiguration.fromEnvironment(["REDIS_HOST": "db", "REDIS_PORT": "6400", "REDIS_PASSWORD": "p"])
        #expect(fromParts.endpoint == .tcp(host: "db", port: 6400))
        #expect(fromParts.password == "p")
        let local = try RedisConfiguration.fromEnvironment([:])
        #expect(local.endpoint == .tcp(host: "127.0.0.1", port: RedisConfiguration.localDevelopmentPort))
        let url = try RedisConfiguration.fromEnvironment(["REDIS_URL": "redis://h:1", "REDIS_HOST": "ignored"])
        #expect(url.endpoint == .tcp(host: "h", port: 1))
        #expect(throws: RedisError.self) { try RedisConfiguration.fromEnvironment(["REDIS_PORT": "x"]) }
    }
}
