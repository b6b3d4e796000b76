import Logging
import ServiceLifecycle

/// The writing stage: `--writers` tasks take batches from the same channel, each writes and
/// acknowledges a batch in one atomic call on its own connection (``ResultWriter``), and hands the
/// acknowledged batch with its end-to-end latencies to the ``Acker``.
public struct ResultWriterStage: Service {
    private let input: StageChannel<Batch>
    private let output: StageChannel<AcknowledgedBatch>
    private let writers: [ResultWriter]

    init(input: StageChannel<Batch>, output: StageChannel<AcknowledgedBatch>, writers: [ResultWriter]) {
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
                        let latencies = try await writer.write(batch)
                        batch.timings.writeMicroseconds = (ContinuousClock.now - start).microseconds
                        await output.send(AcknowledgedBatch(batch: batch, endToEndMicroseconds: latencies))
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
