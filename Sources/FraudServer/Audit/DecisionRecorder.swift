import FraudCore
import Logging
import RedisClient
import ServiceLifecycle

/// Appends the API's decisions to the results stream (marked `source=api`) and the run statistics, in
/// batches, on its own connection, after the clients have their answers: the audit trail is off the
/// authorization path's latency but never dropped while Redis is reachable.
///
/// It is the last of the server's services to stop: it drains the buffer after the lanes have finished.
public struct DecisionRecorder: Service {
    let buffer: RecordBuffer
    let connection: RedisConnection
    let call: RecordDecisionsCall
    let statistics: WorkerStatistics
    let metrics: FraudMetrics
    let logger: Logger
    /// The decision keys (``DecisionClaim``) and how long a decision is kept there.
    let keys: FeatureKeys
    let idempotencyTTLMilliseconds: Int
    /// Where decisions that could not be written go (the admission's journal, or counted as lost).
    let keepUnrecorded: @Sendable ([RecordDecisionsCall.Record], DecisionJournal.MaybeApplied?) -> Void
    /// Most records per call.
    let batchSize = 500
    /// How long a small batch waits for more decisions before it is written.
    static let gatherDelay: Duration = .milliseconds(5)
    private let instance = "\(UInt64.random(in: 0...UInt64.max))"

    init(
        buffer: RecordBuffer, connection: RedisConnection, call: RecordDecisionsCall, keys: FeatureKeys, idempotencyTTLMilliseconds: Int,
        statistics: WorkerStatistics, metrics: FraudMetrics, logger: Logger,
        keepUnrecorded: @escaping @Sendable ([RecordDecisionsCall.Record], DecisionJournal.MaybeApplied?) -> Void
    ) {
        self.keys = keys
        self.idempotencyTTLMilliseconds = idempotencyTTLMilliseconds
        self.keepUnrecorded = keepUnrecorded
        self.metrics = metrics
        self.buffer = buffer
        self.connection = connection
        self.call = call
        self.statistics = statistics
        self.logger = logger
    }

    /// Writes batches until the buffer is closed and drained (the lanes have finished), then stays until its
    /// own turn in the group's shutdown.
    public func run() async throws {
        // Whatever ends this loop (a Redis error that is not transient, or cancellation past the shutdown
        // timeout), the lanes must not wait on a buffer nobody takes from; what is left is logged, not silently lost.
        // What is left goes to the decision journal, recorded after the next start (``DecisionJournal``).
        defer {
            buffer.close()
            let left = buffer.takeAvailable(maximum: Int.max)
            if !left.isEmpty {
                logger.warning("stopped with API decisions not yet recorded; kept in the decision journal", metadata: ["decisions": "\(left.count)"])
                keepUnrecorded(left, nil)
            }
        }
        var sequences: [Int: Int] = [:]
        while true {
            var records = await buffer.take(maximum: batchSize)
            if records.isEmpty {
                try? await gracefulShutdown()
                return
            }
            // A short gathering pause when the batch is small: one call (and one wake-up) for many decisions.
            // The audit trail is off the answer's path, so a few milliseconds of lag cost nothing.
            if records.count < batchSize && !buffer.isClosed {
                try? await Task.sleep(for: Self.gatherDelay)
                records += buffer.takeAvailable(maximum: batchSize - records.count)
            }
            // Each partition's decisions go to its results stream, in a call of its own (one slot each on a cluster).
            var unwritten = Dictionary(grouping: records, by: { call.partition(forUser: $0.transaction.userId) })
            // Stopped mid-batch (cancelled past the shutdown deadline): the calls not known to be applied go to the journal
            // with the sequence they had or would have had, which the replay checks against this instance's marker.
            defer {
                for (partition, group) in unwritten {
                    keepUnrecorded(group, DecisionJournal.MaybeApplied(instance: instance, sequence: (sequences[partition] ?? 0) + 1, partition: partition))
                }
            }
            for (partition, group) in unwritten.sorted(by: { $0.key < $1.key }) {
                sequences[partition, default: 0] += 1
                let partitionCall = call.forPartition(partition)
                // One write per decision: its decision key (over the lane's claim; the same value again on a retry) and
                // its record, in one pipeline.
                let stores = group.compactMap { record in
                    record.claimant.map { claimant in
                        DecisionClaim(record.transaction, claimant: claimant).storeCommand(
                            key: keys.decision(user: record.transaction.userId, transaction: record.transaction.transactionId),
                            decision: record.decision, degraded: record.degraded, ttlMilliseconds: idempotencyTTLMilliseconds,
                            overClaimOnly: true)
                    }
                }
                let commands = stores + [partitionCall.command(group, instance: instance, sequence: sequences[partition] ?? 1)]
                let connection = self.connection
                let logger = self.logger
                // Retried until cancelled (a shutdown past its timeout): the batch marker makes a retry of an
                // applied call write nothing again.
                let written: Int
                do {
                    written = try await RetryPolicy.untilCancelled.run(
                        "recording \(group.count) API decisions", logger: logger, recover: reloadingLibrary(.results, on: connection, waitingForStateOf: call.namespace)
                    ) { () async throws(RedisError) -> Int in
                        let replies = try await connection.pipeline(commands)
                        let unstored = replies.dropLast().filter { $0.errorMessage != nil }
                        if let first = unstored.first?.errorMessage {
                            // Recorded, but a retry of these ids is told to retry until their claim expires.
                            logger.warning("could not store decisions under their keys", metadata: ["decisions": "\(unstored.count)", "error": "\(first)"])
                        }
                        return try RecordDecisionsCall.decode(replies[replies.count - 1])
                    }
                } catch {
                    sequences[partition, default: 1] -= 1  // the journal entry names the sequence this call had
                    throw error
                }
                unwritten[partition] = nil
                // A retry of an applied call writes (and counts) nothing: the metrics follow what the call wrote.
                if written > 0 {
                    metrics.recorded(group)
                }
            }
            await statistics.record(
                requests: records.map { record in
                    (
                        record.transaction.runId,
                        [
                            ("end_to_end", record.latencyMicroseconds), ("features", record.featuresMicroseconds),
                            ("scoring", record.scoringMicroseconds),
                        ]
                    )
                })
        }
    }
}

extension FraudMetrics {
    /// The API's recorded decisions in the metrics, as the worker's acknowledged batches are: decisions and reasons,
    /// each rule's hits on labelled results (its precision), end-to-end latency, the features and scoring stages
    /// (each decision's lane batch), and the degraded answers.
    func recorded(_ records: [RecordDecisionsCall.Record]) {
        scored(records.lazy.map { (decision: $0.decision.decision, reasons: $0.decision.reasons) }, source: "api")
        labelledReasons(
            records.lazy.filter { $0.transaction.isFraud != nil }.map { (reasons: $0.decision.reasons, fraud: $0.transaction.isFraud == true) },
            source: "api")
        endToEnd(microseconds: records.lazy.map(\.latencyMicroseconds), source: "api")
        for record in records where !record.degraded {
            stage("features", microseconds: record.featuresMicroseconds)
            stage("scoring", microseconds: record.scoringMicroseconds)
        }
        counter(FraudMetrics.Name.apiDegraded).increment(by: records.lazy.filter(\.degraded).count)
    }
}
