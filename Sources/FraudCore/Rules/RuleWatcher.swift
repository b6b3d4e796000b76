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
        var rejected: Int?
        var outage = OutageLog("rule check")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
            do {
                let latest = try await store.latestVersion(on: connection) ?? 0
                outage.succeeded(logger: logger)
                guard latest != (await receiver.nextRulesVersion), latest != rejected else { continue }
                do {
                    let version = try await store.load(latest, on: connection)
                    await receiver.install(rules: version.ruleSet, version: version.version)
                    logger.notice("rule set promoted; installing", metadata: ["version": "\(latest)", "rules": "\(version.ruleSet.rules.count)"])
                } catch let error as FraudError where error.code == .invalidData {
                    rejected = latest
                    logger.error("promoted rule set rejected; keeping the current one", metadata: ["version": "\(latest)", "error": "\(error)"])
                }
            } catch {
                if Task.isCancelled { return }
                outage.failed(error, logger: logger)
            }
        }
    }
}
