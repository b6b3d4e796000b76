import Logging
import RedisClient
import ServiceLifecycle

/// Follows the IP blocklist's shape (`<ns>:blocklist:ip:shape`) so a blocklist created or replaced while a worker or
/// server runs (`fraudstream prepare`, `blocklist add` creating the filter, `blocklist import`) is checked from the next
/// batch on, on both paths.
public struct BlocklistWatcher: Service {
    let namespace: String
    let connection: RedisConnection
    let intervalMilliseconds: Int
    let logger: Logger
    /// The shape in use.
    let current: @Sendable () async -> BloomFilterShape?
    /// Uses another shape from the next batch on.
    let use: @Sendable (BloomFilterShape?) async -> Void

    /// A watcher that hands a changed shape to `use`.
    public init(
        namespace: String, connection: RedisConnection, intervalMilliseconds: Int, logger: Logger,
        current: @escaping @Sendable () async -> BloomFilterShape?, use: @escaping @Sendable (BloomFilterShape?) async -> Void
    ) {
        self.namespace = namespace
        self.connection = connection
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
        self.current = current
        self.use = use
    }

    /// Checks every interval until graceful shutdown.
    public func run() async {
        let store = FeatureStore(namespace: namespace)
        var outage = OutageLog("blocklist check")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            do {
                let shape = try await store.blocklistShape(on: connection)
                outage.succeeded(logger: logger)
                if shape != (await current()) {
                    logger.notice("IP blocklist changed", metadata: ["counters": "\(shape.map { "\($0.counters)" } ?? "none")"])
                    await use(shape)
                }
            } catch {
                outage.failed(error, logger: logger)
            }
        }
    }
}
