import Logging
import RedisClient
import ServiceLifecycle

/// Polls the promoted rule set version and hands a new one to the serving state, which switches between batches:
/// `fraudstream rules promote N` changes running workers and servers without a restart.
public struct RuleWatcher: Service {
    private let connection: RedisConnection
    private let store: RuleStore
    private let serving: ServingState
    private let intervalMilliseconds: Int
    private let logger: Logger

    /// Creates a watcher.
    public init(connection: RedisConnection, store: RuleStore, serving: ServingState, intervalMilliseconds: Int, logger: Logger) {
        self.connection = connection
        self.store = store
        self.serving = serving
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    /// Polls until graceful shutdown; a version that does not compile is logged once and skipped.
    public func run() async {
        let (connection, store, serving, logger) = (self.connection, self.store, self.serving, self.logger)
        await VersionPoller(what: "rule check", intervalMilliseconds: intervalMilliseconds, logger: logger).run(
            whenNone: .keep,
            // No version promoted: the built-in rules, version 0.
            wanted: { try await store.latestVersion(on: connection) ?? 0 },
            current: { serving.nextRulesVersion },
            install: { version in
                let loaded = try await store.load(version, features: serving.extractor.entities?.names ?? [], on: connection)
                try serving.install(rules: loaded.ruleSet, version: loaded.version)
                logger.notice("rule set promoted; installing", metadata: ["version": "\(loaded.version)", "rules": "\(loaded.ruleSet.rules.count)"])
            },
            isRejection: { ($0 as? FraudError)?.code == .invalidData },
            // Rules that read a feature wait for the feature set defining it.
            context: { serving.featureSetVersion })
    }
}
