import Logging
import RedisClient

/// Writes a batch's results, dead letters and statistics and acknowledges its entries, in one
/// atomic Redis Function call (see ``WriteBatchCall`` for why write and acknowledgement are one).
public actor ResultWriter {
    private let connection: RedisConnection
    private let call: WriteBatchCall
    private let logger: Logger

    /// Runs on the connection's thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { connection.executor.asUnownedSerialExecutor() }

    /// Creates a writer on its own connection.
    public init(connection: RedisConnection, configuration: WorkerConfiguration, leaseToken: String = "", logger: Logger) {
        self.connection = connection
        self.call = WriteBatchCall(configuration: configuration, leaseToken: leaseToken)
        self.logger = logger
    }

    /// Writes and acknowledges `batch`; returns each item's end-to-end latency in µs (-1 when this
    /// worker no longer owned the entry). Transient failures are retried with backoff until
    /// cancelled; a retry never writes twice because the function skips acknowledged entries.
    ///
    /// Each decision is also stored in its transaction's decision key (``DecisionClaim``), in the same round trip and
    /// before the write call, so a duplicate arriving later, on either path, gets it back.
    public func write(_ batch: Batch) async throws -> [Int64] {
        let command = call.command(batch)
        let keys = FeatureKeys(namespace: call.configuration.namespace)
        let ttl = call.configuration.idempotencyTTLSeconds * 1000
        let stores = zip(batch.items, batch.decisions).map { item, decision in
            item.claim.storeCommand(
                key: keys.decision(user: item.transaction.userId, transaction: item.transaction.transactionId), decision: decision,
                degraded: false, ttlMilliseconds: ttl)
        }
        let results = batch.items.count
        let connection = self.connection
        let reply = try await RetryPolicy.untilCancelled.run(
            "writing results of batch \(batch.sequence) (entries stay pending, nothing is written twice)", logger: logger,
            recover: reloadingLibrary(.results, on: connection)
        ) { () async throws(RedisError) -> WriteBatchReply in
            let replies = try await connection.pipeline(stores + [command])
            for reply in replies.dropLast() { _ = try reply.get() }
            return try WriteBatchCall.decode(replies[replies.count - 1], results: results)
        }
        return reply.latenciesMicroseconds
    }
}
