import RedisClient
import Logging
import ServiceLifecycle

/// The writing stage: `--writers` tasks take batches from the same channel, each writes and
/// acknowledges a batch in one atomic call on its own connection (``ResultWriter``), and hands the
/// acknowledged batch with its end-to-end latencies to the ``BatchCompletion``.
public struct ResultWriterStage: Service {
    private let input: StageChannel<Batch>
    private let output: StageChannel<AcknowledgedBatch>
    private let writers: [ResultWriter]
    private let counters: PipelineCounters

    init(input: StageChannel<Batch>, output: StageChannel<AcknowledgedBatch>, writers: [ResultWriter], counters: PipelineCounters) {
        self.counters = counters
        self.input = input
        self.output = output
        self.writers = writers
    }

    /// Writes batches with every writer until its input ends.
    public func run() async throws {
        defer { output.finish() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in writers {
                group.addTask {
                    for await var batch in input {
                        let start = ContinuousClock.now
                        batch.timings.queueMicroseconds += (start - batch.dispatchedAt).microseconds
                        let latencies: [Int64]
                        do {
                            latencies = try await writer.write(batch)
                        } catch let error as RedisError where error.code != .cancelled {
                            throw FraudError(stage: "writing results", error)
                        }
                        batch.timings.writeMicroseconds = (ContinuousClock.now - start).microseconds
                        await counters.send(AcknowledgedBatch(batch: batch, endToEndMicroseconds: latencies), on: output, at: .completion)
                    }
                }
            }
            // Not `waitForAll()`, which waits for every task before it rethrows: the first failure must
            // end the group at once (leaving the scope cancels the others), or stages that wait on it
            // (a permit, a channel) would wait forever.
            while try await group.next() != nil {}
        }
    }
}
