import FraudCore
import Logging
import RedisClient
import ServiceLifecycle

/// Follows the IP blocklist's shape (`<ns>:blocklist:ip:shape`) so a blocklist created or replaced while the
/// server runs (`fraudstream prepare`, `blocklist import`) is checked from the next batch on.
struct BlocklistWatcher: Service {
    let engine: DecisionEngine
    let connection: RedisConnection
    let intervalMilliseconds: Int
    let logger: Logger

    func run() async {
        let store = FeatureStore(namespace: engine.configuration.namespace)
        var outage = OutageLog("blocklist check")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            do {
                let shape = try await store.blocklistShape(on: connection)
                outage.succeeded(logger: logger)
                if shape != engine.blocklistShape {
                    logger.notice("IP blocklist changed", metadata: ["counters": "\(shape.map { "\($0.counters)" } ?? "none")"])
                    engine.useBlocklist(shape)
                }
            } catch {
                outage.failed(error, logger: logger)
            }
        }
    }
}
