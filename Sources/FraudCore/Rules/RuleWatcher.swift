import Logging
import RedisClient
import ServiceLifecycle

/// Polls the promoted rule set version and hands a new one to the scorer, which switches between batches:
/// `fraudstream rules promote N` changes running workers and servers without a restart.
public struct RuleWatcher: Service {
    private let connection: RedisConnection
    private let store: RuleStore
    private let receiver: any RuleReceiver
    private let intervalMilliseconds: Int
    private let logger: Logger

    /// Creates a watcher.
    public init(connection: RedisConnection, store: RuleStore, receiver: any RuleReceiver, intervalMilliseconds: Int, logger: Logger) {
        self.connection = connection
        self.store = store
        self.receiver = receiver
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    /// Polls until graceful shutdown; a version that does not compile is logged once and skipped.
    public func run() async {
        let (connection, store, receiver, logger) = (self.connection, self.store, self.receiver, self.logger)
        await VersionPoller(what: "rule check", intervalMilliseconds: intervalMilliseconds, logger: logger).run(
            whenNone: .keep,
            // No version promoted: the built-in rules, version 0.
            wanted: { try await store.latestVersion(on: connection) ?? 0 },
            current: { await receiver.nextRulesVersion },
            install: { version in
                let loaded = try await store.load(version, on: connection)
                await receiver.install(rules: loaded.ruleSet, version: loaded.version)
                logger.notice("rule set promoted; installing", metadata: ["version": "\(loaded.version)", "rules": "\(loaded.ruleSet.rules.count)"])
            },
            isRejection: { ($0 as? FraudError)?.code == .invalidData })
    }
}
