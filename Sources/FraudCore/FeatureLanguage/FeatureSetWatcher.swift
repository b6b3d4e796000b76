import Logging
import RedisClient
import ServiceLifecycle

/// Polls the promoted feature set version and hands a new one to the serving state, which computes it from the next
/// batch on: `fraudstream features promote N` changes running workers and servers without a restart.
public struct FeatureSetWatcher: Service {
    private let connection: RedisConnection
    private let store: FeatureSetStore
    private let serving: ServingState
    private let intervalMilliseconds: Int
    private let logger: Logger

    /// Creates a watcher.
    public init(connection: RedisConnection, store: FeatureSetStore, serving: ServingState, intervalMilliseconds: Int, logger: Logger) {
        self.connection = connection
        self.store = store
        self.serving = serving
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    /// Polls until graceful shutdown; a version that does not parse, or that drops a feature the rules in use read, is
    /// logged once and skipped.
    public func run() async {
        let (connection, store, serving, logger) = (self.connection, self.store, self.serving, self.logger)
        await VersionPoller(what: "feature set check", intervalMilliseconds: intervalMilliseconds, logger: logger).run(
            whenNone: .keep,
            // No version promoted: the built-in features only, version 0.
            wanted: { try await store.latestVersion(on: connection) ?? 0 },
            current: { serving.featureSetVersion },
            install: { version in
                let loaded = try await store.load(version, on: connection)
                try serving.install(features: loaded.set, version: loaded.version)
                logger.notice("feature set promoted; installing", metadata: ["version": "\(loaded.version)", "features": "\(loaded.set.definitions.count)"])
            },
            isRejection: { ($0 as? FraudError)?.code == .invalidData },
            // A set refused because the rules in use read a feature it drops is tried again once the rules change.
            context: { serving.nextRulesVersion })
    }
}
