import ArgumentParser
import FraudCore
import RedisClient

/// Where Redis is: `--redis-url`, else the environment, else the local development server.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("redis-url"), help: "Redis URL: redis://[user:password@]host:port[/db] or unix:///path (env REDIS_URL).")
    var redisURL: String?

    @Option(name: .customLong("connect-timeout-ms"), help: "Connect timeout in milliseconds.")
    var connectTimeoutMilliseconds: Int = 2_000

    /// The flags this group sets.
    var flags: [Setting: String?] { [Settings.redisURL: redisURL] }

    /// The resolved configuration: `REDIS_URL`, else `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD`.
    func configuration(_ settings: SettingsResolver, name: String? = nil) throws -> RedisConfiguration {
        let environment = settings.environment(of: [Settings.redisURL, Settings.redisHost, Settings.redisPort, Settings.redisPassword])
        var configuration = try RedisConfiguration.fromEnvironment(environment)
        configuration.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        configuration.clientName = name
        return configuration
    }

    /// The configuration from this group's flags over the environment.
    func configuration(name: String? = nil) throws -> RedisConfiguration {
        try configuration(.command(flags), name: name)
    }
}
