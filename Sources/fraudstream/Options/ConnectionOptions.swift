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
    @Flag(name: .customLong("cluster"), help: "The Redis must be a Redis Cluster: route over it, and name the default streams <ns>:transactions:{p0}, <ns>:results:{p0}, <ns>:dead_letters:{p0} (env REDIS_CLUSTER=1; unset: ask the server, and do the same when it is one).")
    var cluster = false

    var flags: [Setting: String?] { [Settings.redisURL: redisURL, Settings.redisCluster: cluster ? "1" : nil] }

    /// The resolved configuration: `REDIS_URL`, else `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD`.
    func configuration(_ settings: SettingsResolver, name: String? = nil) throws -> RedisConfiguration {
        let environment = settings.environment(of: [Settings.redisURL, Settings.redisHost, Settings.redisPort, Settings.redisPassword])
        var configuration = try RedisConfiguration.fromEnvironment(environment)
        configuration.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        configuration.clientName = name
        switch try settings.boolean(Settings.redisCluster) {
        case true?: configuration.clusterMode = .enabled
        case false?: configuration.clusterMode = .disabled
        case nil: configuration.clusterMode = .automatic
        }
        return configuration
    }

    /// The configuration from this group's flags over the environment.
    func configuration(name: String? = nil) throws -> RedisConfiguration {
        try configuration(.command(flags), name: name)
    }
}
