import Logging
import RedisClient

/// Computes feature vectors for a batch in one pipelined round trip on its own connection.
///
/// Runs on its connection's thread. A lost connection is retried with backoff: the feature
/// functions recognise a transaction they have already folded in (it is in the user's window set)
/// and then only read, so a retry never counts anything twice.
public actor FeatureFetcher {
    private let connection: RedisConnection
    /// What decides: its extractor computes the features.
    nonisolated let serving: ServingState
    private let logger: Logger
    /// Whether a missing library waits for the namespace's state to come back (off with `--keep-serving-on-state-loss`).
    private let waitsForState: Bool

    /// Runs on the connection's thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { connection.executor.asUnownedSerialExecutor() }

    /// Creates a fetcher.
    /// How long a decision key is kept (`IDEMPOTENCY_TTL`), ms.
    private let decisionTTLMilliseconds: Int

    public init(
        connection: RedisConnection, serving: ServingState, logger: Logger, waitsForState: Bool = true,
        decisionTTLMilliseconds: Int = 86_400_000
    ) {
        self.waitsForState = waitsForState
        self.decisionTTLMilliseconds = decisionTTLMilliseconds
        self.connection = connection
        self.serving = serving
        self.logger = logger
    }

    /// Each item's decision claim (its stream entry id claims it) and feature vector, in order; retries transient
    /// failures until cancelled (a retry claims as the same arrival, so it is never taken for a duplicate).
    /// `extractor` is the batch's (read once for all of its fetchers); the serving state's current one by default.
    public func fetch(_ items: [BatchItem], extractor given: FeatureExtractor? = nil) async throws -> (vectors: [[Double]], statuses: [DecisionClaim.Status]) {
        if items.isEmpty { return ([], []) }
        let transactions = items.map(\.transaction)
        let claims = items.map(\.claim)
        let ttl = decisionTTLMilliseconds
        // The feature definitions of this batch (the blocklist's shape and the feature set can change between batches).
        let extractor = given ?? serving.extractor
        return try await RetryPolicy.untilCancelled.run(
            "feature fetch", logger: logger, recover: reloadingLibrary(.features, on: connection, waitingForStateOf: waitsForState ? extractor.settings.namespace : nil)
        ) { () async throws(RedisError) -> (vectors: [[Double]], statuses: [DecisionClaim.Status]) in
            try await extractor.fetch(transactions, claims: claims, ttlMilliseconds: ttl, on: connection)
        }
    }
}
