import Logging
import RedisClient
import ServiceLifecycle

/// Follows `<ns>:model:latest` and hands a newly promoted, valid model to the serving state, which
/// switches between batches. A pinned version (`--model-version`) is never replaced.
public struct ModelWatcher: Service {
    private let connection: RedisConnection
    private let store: ModelStore
    private let serving: ServingState
    private let intervalMilliseconds: Int
    private let logger: Logger
    private let metrics: FraudMetrics?

    /// Creates a watcher that installs promotions into `serving`.
    public init(
        connection: RedisConnection, store: ModelStore, serving: ServingState, intervalMilliseconds: Int, logger: Logger,
        metrics: FraudMetrics? = nil
    ) {
        self.metrics = metrics
        self.connection = connection
        self.store = store
        self.serving = serving
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    /// Polls for promotions until graceful shutdown.
    public func run() async {
        let (connection, store, serving, metrics, logger) = (self.connection, self.store, self.serving, self.metrics, self.logger)
        await VersionPoller(what: "model check", intervalMilliseconds: intervalMilliseconds, logger: logger).run(
            whenNone: .keep,
            wanted: { try await store.latestVersion(on: connection) },
            // A promotion queued for the next batch counts as installed: an idle worker logs it once.
            current: { serving.nextModelVersion },
            install: { version in
                let record = try await store.load(version, on: connection)
                try serving.install(record)
                metrics?.modelServing(version: record.version)
                logger.notice("model version promoted; installing", metadata: ["version": "\(record.version)"])
            },
            isRejection: { ($0 as? FraudError)?.code == .modelUnavailable },
            // A model reading a feature waits for the feature set defining it.
            context: { serving.featureSetVersion })
    }
}
