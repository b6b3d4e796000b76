import ArgumentParser
import FraudCore
import RedisClient

/// Where Redis is: `--redis-url`, else the environment, else the local development server.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("redis-url"), help: "Redis URL: redis://[user:password@]host:port[/db], rediss://… for TLS, or unix:///path (env REDIS_URL).")
    var redisURL: String?

    @Option(name: .customLong("redis-ca"), help: "PEM CA that signed the Redis server's certificate (rediss:// only; default the system's trust roots; env REDIS_CA).")
    var redisCA: String?

    @Option(name: .customLong("redis-cert"), help: "PEM client certificate for a Redis that wants one, with --redis-key (env REDIS_CERT).")
    var redisCertificate: String?

    @Option(name: .customLong("redis-key"), help: "PEM key of --redis-cert (env REDIS_KEY).")
    var redisKey: String?

    @Option(name: .customLong("redis-tls-server-name"), help: "Name the Redis server's certificate must carry (default the URL's host; env REDIS_TLS_SERVER_NAME).")
    var redisTLSServerName: String?

    @Option(name: .customLong("connect-timeout-ms"), help: "Connect timeout in milliseconds.")
    var connectTimeoutMilliseconds: Int = 2_000

    /// The flags this group sets.
    @Flag(name: .customLong("cluster"), help: "The Redis must be a Redis Cluster: route over it, and name the default streams <ns>:transactions:{p0}, <ns>:results:{p0}, <ns>:dead_letters:{p0} (env REDIS_CLUSTER=1; unset: ask the server, and do the same when it is one).")
    var cluster = false

    var flags: [Setting: String?] {
        [
            Settings.redisURL: redisURL, Settings.redisCluster: cluster ? "1" : nil, Settings.redisCA: redisCA,
            Settings.redisCertificate: redisCertificate, Settings.redisKey: redisKey, Settings.redisTLSServerName: redisTLSServerName,
        ]
    }

    /// The resolved configuration: `REDIS_URL`, else `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD`.
    func configuration(_ settings: SettingsResolver, name: String? = nil) throws -> RedisConfiguration {
        let environment = settings.environment(of: [
            Settings.redisURL, Settings.redisHost, Settings.redisPort, Settings.redisPassword, Settings.redisCA,
            Settings.redisCertificate, Settings.redisKey, Settings.redisTLSServerName,
        ])
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
