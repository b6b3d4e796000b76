import Logging
import RedisClient
import ServiceLifecycle

/// Polls `<ns>:model:shadow` and gives the serving state the challenger model to score every transaction with
/// (champion/challenger): set with `fraudstream models shadow N`, cleared with `models shadow --off`.
public struct ShadowWatcher: Service {
    let connection: RedisConnection
    let store: ModelStore
    let serving: ServingState
    let intervalMilliseconds: Int
    let logger: Logger

    /// Creates a watcher.
    public init(connection: RedisConnection, store: ModelStore, serving: ServingState, intervalMilliseconds: Int, logger: Logger) {
        self.connection = connection
        self.store = store
        self.serving = serving
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    /// Polls until graceful shutdown.
    public func run() async {
        let (connection, store, serving) = (self.connection, self.store, self.serving)
        await VersionPoller(what: "shadow model check", intervalMilliseconds: intervalMilliseconds, logger: logger).run(
            whenNone: .clear,
            wanted: { try await store.shadowVersion(on: connection) },
            current: { serving.shadowModelVersion },
            install: { version in
                if let version { try serving.installShadow(try await store.load(version, on: connection)) } else { try serving.installShadow(nil) }
            },
            isRejection: { ($0 as? FraudError)?.code == .modelUnavailable },
            context: { serving.featureSetVersion })
    }
}
