import Logging
import RedisClient

/// Writes a batch's results, dead letters and statistics and acknowledges its entries, in one
/// atomic Redis Function call (see ``ResultLibrary`` for why write and acknowledgement are one).
public actor ResultWriter {
    private let connection: RedisConnection
    private let configuration: WorkerConfiguration
    private let logger: Logger

    /// Runs on the connection's thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { connection.executor.asUnownedSerialExecutor() }

    /// Creates a writer on its own connection.
    public init(connection: RedisConnection, configuration: WorkerConfiguration, logger: Logger) {
        self.connection = connection
        self.configuration = configuration
        self.logger = logger
    }

    /// Writes and acknowledges `batch`; returns each item's end-to-end latency in µs (-1 when this
    /// worker no longer owned the entry). Transient failures are retried with backoff until
    /// cancelled; a retry never writes twice because the function skips acknowledged entries.
    public func write(_ batch: Batch) async throws -> [Int64] {
        let command = makeCommand(batch)
        let expected = 2 + batch.items.count
        let connection = self.connection
        let values = try await RetryPolicy.untilCancelled.run(
            "writing results of batch \(batch.sequence) (entries stay pending, nothing is written twice)", logger: logger,
            recover: reloadingLibrary(ResultLibrary.source, on: connection)
        ) { () async throws(RedisError) -> [RESPValue] in
            let reply = try await connection.send(command)
            guard let values = reply.array, values.count == expected else {
                throw RedisError(code: .unexpectedReply, message: "fs_write_batch returned \(reply)")
            }
            return values
        }
        return values.dropFirst(2).map { Int64($0.int ?? -1) }
    }

    private func makeCommand(_ batch: Batch) -> RedisCommand {
        var command = RedisCommand(
            "FCALL", "fs_write_batch", 3, configuration.transactionStream, configuration.resultsStream,
            configuration.deadLetterStream, configuration.consumerGroup, configuration.consumerName,
            configuration.maxStreamLength, configuration.resultTTLSeconds, configuration.workerId, configuration.namespace,
            batch.items.count, batch.deadLetters.count, configuration.maxStreamLength)
        let bounds = Self.idBounds(batch.items.map(\.sourceId) + batch.deadLetters.map(\.sourceId))
        command.append(bounds.lowest)
        command.append(bounds.highest)
        let queueMs = millisecondsText(batch.timings.queueMicroseconds)
        let featuresMs = millisecondsText(batch.timings.featuresMicroseconds)
        let scoringMs = millisecondsText(batch.timings.scoringMicroseconds)
        for (item, decision) in zip(batch.items, batch.decisions) {
            let transaction = item.transaction
            command.append(item.sourceId)
            command.append(transaction.transactionId)
            command.append(transaction.userId)
            command.append(transaction.runId ?? "")
            command.append(scoreText(decision.score))
            command.append(decision.isFraud ? "1" : "0")
            command.append(decision.decision)
            command.append(decision.reasons)
            command.append(decision.modelVersion)
            command.append(transaction.isFraud.map { $0 ? "1" : "0" } ?? "")
            command.append(queueMs)
            command.append(featuresMs)
            command.append(scoringMs)
            command.append(transaction.amount)
        }
        for dead in batch.deadLetters {
            command.append(dead.sourceId)
            command.append(dead.reason)
            command.append(dead.runId)
            command.append(dead.fields.count)
            for (name, value) in dead.fields {
                command.append(name)
                command.append(value)
            }
        }
        return command
    }

    /// The smallest and largest stream ids (`<ms>-<seq>`), compared numerically.
    static func idBounds(_ ids: [String]) -> (lowest: String, highest: String) {
        func key(_ id: String) -> (Int64, Int64) {
            let parts = id.split(separator: "-")
            return (Int64(parts.first ?? "0") ?? 0, Int64(parts.last ?? "0") ?? 0)
        }
        var lowest = ids.first ?? "0-0"
        var highest = lowest
        var lowestKey = key(lowest)
        var highestKey = lowestKey
        for id in ids.dropFirst() {
            let current = key(id)
            if current < lowestKey { lowest = id; lowestKey = current }
            if current > highestKey { highest = id; highestKey = current }
        }
        return (lowest, highest)
    }

    private func millisecondsText(_ microseconds: Int64) -> String {
        let thousandths = microseconds
        return "\(thousandths / 1000).\(String(thousandths % 1000).leftPadded(3))"
    }

    private func scoreText(_ score: Double) -> String {
        let scaled = Int((score * 1_000_000).rounded())
        return "\(scaled / 1_000_000).\(String(scaled % 1_000_000).leftPadded(6))"
    }
}
