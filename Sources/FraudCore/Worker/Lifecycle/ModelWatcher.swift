import Logging
import RedisClient
import ServiceLifecycle

/// Follows `<ns>:model:latest` and hands a newly promoted, valid model to the scorer, which
/// switches between batches. A pinned version (`--model-version`) is never replaced.
public struct ModelWatcher: Service {
    private let connection: RedisConnection
    private let store: ModelStore
    private let scorer: any ModelReceiver
    private let intervalMilliseconds: Int
    private let logger: Logger
    private let metrics: FraudMetrics?

    /// Creates a watcher that installs promotions into `scorer`.
    public init(
        connection: RedisConnection, store: ModelStore, scorer: any ModelReceiver, intervalMilliseconds: Int, logger: Logger,
        metrics: FraudMetrics? = nil
    ) {
        self.metrics = metrics
        self.connection = connection
        self.store = store
        self.scorer = scorer
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    /// Polls for promotions until graceful shutdown.
    public func run() async {
        var rejected: Int?
        var outage = OutageLog("model check")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
                let promoted = try await store.latestVersion(on: connection)
                outage.succeeded(logger: logger)
                guard let latest = promoted else { continue }
                // A promotion queued for the next batch counts as installed: an idle worker logs it once.
                let current = await scorer.nextModelVersion
                guard latest != current, latest != rejected else { continue }
                do {
                    let record = try await store.load(latest, on: connection)
                    await scorer.install(record)
                    metrics?.modelServing(version: record.version)
                    logger.notice("model version promoted; installing", metadata: ["version": "\(latest)"])
                } catch let error as FraudError where error.code == .modelUnavailable {
                    rejected = latest
                    logger.error("promoted model rejected; keeping the current one", metadata: ["version": "\(latest)", "error": "\(error)"])
                }
            } catch {
                if Task.isCancelled { return }
                outage.failed(error, logger: logger)
            }
        }
    }
}
