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

    /// Runs on the connection's thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { connection.executor.asUnownedSerialExecutor() }

    /// Creates a fetcher.
    public init(connection: RedisConnection, extractor: FeatureExtractor, logger: Logger) {
        self.connection = connection
        self.extractor = extractor
        self.logger = logger
    }

    /// Feature vectors of `transactions`, in order; retries connection failures until cancelled.
    public func fetch(_ transactions: [Transaction]) async throws -> [[Double]] {
        if transactions.isEmpty { return [] }
        var backoff = ReconnectBackoff(initialMilliseconds: 50, maximumMilliseconds: 2_000)
        while true {
            let failure: RedisError
            do {
                return try await extractor.fetch(transactions, on: connection)
            } catch {
                failure = error
            }
            try Task.checkCancellation()
            if failure.code == .serverError && failure.message.contains("Function not found") {
                // Someone flushed the functions: load them again.
                try await connection.loadFunctionLibrary(FeatureLibrary.source)
                continue
            }
            guard failure.isConnectionFailure else { throw failure }
            backoff.recordFailure()
            if case .wait(let milliseconds) = backoff.nextAction(jitter: Double.random(in: 0...1)) {
                logger.warning("feature fetch failed; retrying", metadata: ["error": "\(failure)", "retry_ms": "\(milliseconds)"])
                try await Task.sleep(for: .milliseconds(milliseconds))
            }
        }
    }
}
