import ServiceLifecycle

/// Completes the acknowledgement of each batch: records its statistics and gives its in-flight
/// permit back, which lets the batcher read again.
///
/// The `XACK` itself runs inside the result writer's Redis Function, in the same atomic call as the
/// writes (see ``ResultWriter``): acknowledging separately would leave a window in which results are
/// written but their entries still pending, and another worker would claim and write them again.
/// The permit comes back only here, after the acknowledgement, so the in-flight bound covers every
/// stage from read to ack.
public struct BatchCompletion: Service {
    private let input: StageChannel<AcknowledgedBatch>
    private let limiter: InFlightLimiter
    private let statistics: WorkerStatistics
    private let counters: PipelineCounters
    private let metrics: FraudMetrics

    init(
        input: StageChannel<AcknowledgedBatch>, limiter: InFlightLimiter, statistics: WorkerStatistics, counters: PipelineCounters,
        metrics: FraudMetrics
    ) {
        self.metrics = metrics
        self.input = input
        self.limiter = limiter
        self.statistics = statistics
        self.counters = counters
    }

    /// Completes batches until its input ends.
    public func run() async {
        for await acknowledged in input {
            let batch = acknowledged.batch
            counters.written(
                batch.items.count, deadLetters: batch.deadLetters.count, duplicates: batch.duplicates.count,
                microseconds: batch.timings.writeMicroseconds,
                queueMicroseconds: batch.timings.queueMicroseconds)
            await statistics.record(batch, endToEndMicroseconds: acknowledged.endToEndMicroseconds)
            record(acknowledged)
            await limiter.release()
        }
    }

    /// The batch in the metrics: what was written (a result whose entry was no longer this consumer's, latency
    /// -1, was not), its dead letters, latencies and size.
    private func record(_ acknowledged: AcknowledgedBatch) {
        let batch = acknowledged.batch
        let latencies = acknowledged.endToEndMicroseconds
        metrics.scored(
            zip(batch.decisions, latencies).lazy.filter { $0.1 >= 0 }.map { (decision: $0.0.decision, reasons: $0.0.reasons) },
            source: "stream")
        metrics.labelledReasons(
            zip(zip(batch.items, batch.decisions), latencies).lazy.filter { $0.1 >= 0 && $0.0.0.transaction.isFraud != nil }
                .map { (reasons: $0.0.1.reasons, fraud: $0.0.0.transaction.isFraud == true) },
            source: "stream")
        metrics.deadLettered(classes: batch.deadLetters.lazy.map(\.kind))
        metrics.endToEnd(microseconds: latencies, source: "stream")
        metrics.stage("queue", microseconds: batch.timings.queueMicroseconds)
        metrics.stage("features", microseconds: batch.timings.featuresMicroseconds)
        metrics.stage("scoring", microseconds: batch.timings.scoringMicroseconds)
        metrics.stage("write", microseconds: batch.timings.writeMicroseconds)
        metrics.batch(size: batch.entryCount)
    }
}
