import Logging
import RedisClient

/// Computes feature vectors for a batch in one pipelined round trip on its own connection.
///
/// Runs on its connection's thread. A lost connection is retried with backoff: the feature
/// functions recognise a transaction they have already folded in (it is in the user's window set)
/// and then only read, so a retry never counts anything twice.
public actor FeatureFetcher {
    private let connection: RedisConnection
    private var extractor: FeatureExtractor
    private let logger: Logger
    /// Whether a missing library waits for the namespace's state to come back (off with `--keep-serving-on-state-loss`).
    private let waitsForState: Bool

    /// Runs on the connection's thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { connection.executor.asUnownedSerialExecutor() }

    /// Creates a fetcher.
    public init(connection: RedisConnection, extractor: FeatureExtractor, logger: Logger, waitsForState: Bool = true) {
        self.waitsForState = waitsForState
        self.connection = connection
        self.extractor = extractor
        self.logger = logger
    }

    /// Feature vectors of `transactions`, in order; retries transient failures until cancelled.
    public func fetch(_ transactions: [Transaction]) async throws -> [[Double]] {
        if transactions.isEmpty { return [] }
        return try await RetryPolicy.untilCancelled.run(
            "feature fetch", logger: logger, recover: reloadingLibrary(.features, on: connection, waitingForStateOf: waitsForState ? extractor.settings.namespace : nil)
        ) { () async throws(RedisError) -> [[Double]] in
            try await extractor.fetch(transactions, on: connection)
        }
    }
}
