import ArgumentParser
import Foundation
import RedisClient

/// Where Redis is: `--redis-url`, else the environment, else the local development server.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("redis-url"), help: "Redis URL: redis://[user:password@]host:port[/db] or unix:///path (env REDIS_URL).")
    var redisURL: String?

    @Option(name: .customLong("connect-timeout-ms"), help: "Connect timeout in milliseconds.")
    var connectTimeoutMilliseconds: Int = 2_000

    /// The resolved configuration.
    func configuration(name: String? = nil) throws -> RedisConfiguration {
        var environment = ProcessInfo.processInfo.environment
        if let redisURL { environment["REDIS_URL"] = redisURL }
        var configuration = try RedisConfiguration.fromEnvironment(environment)
        configuration.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        configuration.clientName = name
        return configuration
    }
}
