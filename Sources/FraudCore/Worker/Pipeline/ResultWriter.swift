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
    public func write(_ batch: Batch) async throws -> [Int64] {
        let command = call.command(batch)
        let results = batch.items.count
        let connection = self.connection
        let reply = try await RetryPolicy.untilCancelled.run(
            "writing results of batch \(batch.sequence) (entries stay pending, nothing is written twice)", logger: logger,
            recover: reloadingLibrary(.results, on: connection)
        ) { () async throws(RedisError) -> WriteBatchReply in
            try WriteBatchCall.decode(try await connection.send(command), results: results)
        }
        return reply.latenciesMicroseconds
    }
}
