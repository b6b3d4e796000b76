import ServiceLifecycle

/// Turns raw reads into batches: parses and validates each entry (DESIGN data contract), routes
/// malformed entries and entries delivered too often to the dead-letter list, and numbers batches.
///
/// Size and linger are decided with the consumer's reads (``BatchingState``); this stage does the
/// CPU work so the consumer's thread only reads.
public struct Batcher: Service {
    private let input: StageChannel<ReadChunk>
    private let output: StageChannel<Batch>
    private let maxDeliveries: Int

    /// Creates the stage.
    init(input: StageChannel<ReadChunk>, output: StageChannel<Batch>, maxDeliveries: Int) {
        self.input = input
        self.output = output
        self.maxDeliveries = maxDeliveries
    }

    /// Runs until the consumer finishes its output.
    public func run() async {
        defer { output.finish() }
        var sequence = 0
        for await chunk in input {
            sequence += 1
            let batch = Self.makeBatch(chunk, sequence: sequence, maxDeliveries: maxDeliveries)
            await output.send(batch)
        }
    }

    /// Validates a read's entries into a batch.
    static func makeBatch(_ chunk: ReadChunk, sequence: Int, maxDeliveries: Int) -> Batch {
        var items: [BatchItem] = []
        items.reserveCapacity(chunk.entries.count)
        var deadLetters: [DeadLetter] = []
        for entry in chunk.entries {
            // Only dead letters need the run id from the raw fields; valid entries carry it parsed.
            func runId() -> String { entry.fields.first { $0.0 == "run_id" }?.1 ?? "" }
            if entry.deliveries > maxDeliveries {
                deadLetters.append(DeadLetter(
                    sourceId: entry.id, reason: "delivered \(entry.deliveries) times (max \(maxDeliveries))",
                    runId: runId(), fields: entry.fields))
                continue
            }
            switch TransactionParser.parse(entry.fields) {
            case .success(let transaction):
                items.append(BatchItem(sourceId: entry.id, transaction: transaction))
            case .failure(let rejection):
                deadLetters.append(DeadLetter(sourceId: entry.id, reason: rejection.reason, runId: runId(), fields: entry.fields))
            }
        }
        let now = ContinuousClock.now
        var batch = Batch(
            sequence: sequence, items: items, deadLetters: deadLetters, readAt: chunk.readAt, dispatchedAt: now)
        batch.timings.queueMicroseconds = (now - chunk.readAt).microseconds
        return batch
    }
}
