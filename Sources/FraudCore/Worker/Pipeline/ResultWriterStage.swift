import Logging
import ServiceLifecycle

/// The writing stage: `--writers` tasks take batches from the same channel, write them, record
/// statistics and give the in-flight permits back.
public struct ResultWriterStage: Service {
    private let input: StageChannel<Batch>
    private let writers: [ResultWriter]
    private let limiter: InFlightLimiter
    private let statistics: WorkerStatistics
    private let counters: PipelineCounters
    private let logger: Logger

    init(
        input: StageChannel<Batch>, writers: [ResultWriter], limiter: InFlightLimiter, statistics: WorkerStatistics,
        counters: PipelineCounters, logger: Logger
    ) {
        self.input = input
        self.writers = writers
        self.limiter = limiter
        self.statistics = statistics
        self.counters = counters
        self.logger = logger
    }

    /// Writes batches with every writer until its input ends.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in writers {
                group.addTask {
                    for await var batch in input {
                        let start = ContinuousClock.now
                        batch.timings.queueMicroseconds += (start - batch.dispatchedAt).microseconds
                        let latencies = try await writer.write(batch)
                        batch.timings.writeMicroseconds = (ContinuousClock.now - start).microseconds
                        counters.written(
                            batch.items.count, deadLetters: batch.deadLetters.count,
                            microseconds: batch.timings.writeMicroseconds, queueMicroseconds: batch.timings.queueMicroseconds)
                        await statistics.record(batch, endToEndMicroseconds: latencies)
                        await limiter.release()
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
