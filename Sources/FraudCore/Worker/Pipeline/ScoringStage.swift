import ServiceLifecycle

/// The scoring stage: model and rules for each batch.
public struct ScoringStage: Service {
    private let input: StageChannel<Batch>
    private let output: StageChannel<Batch>
    private let serving: ServingState
    private let counters: PipelineCounters
    private let delay: Duration?

    /// `delay` slows every batch down (tests of backpressure).
    init(input: StageChannel<Batch>, output: StageChannel<Batch>, serving: ServingState, counters: PipelineCounters, delay: Duration? = nil) {
        self.input = input
        self.output = output
        self.serving = serving
        self.counters = counters
        self.delay = delay
    }

    /// Scores batches until its input ends.
    public func run() async {
        defer { output.finish() }
        for await var batch in input {
            let start = ContinuousClock.now
            batch.timings.queueMicroseconds += (start - batch.dispatchedAt).microseconds
            batch.decisions = serving.decide(batch.vectors, transactions: batch.items.map(\.transaction), features: batch.featureNames)
                .map(\.decision)
            if let delay { try? await Task.sleep(for: delay) }
            let elapsed = (ContinuousClock.now - start).microseconds
            batch.timings.scoringMicroseconds = elapsed
            counters.scored(microseconds: elapsed)
            batch.dispatchedAt = .now
            await counters.send(batch, on: output, at: .writer)
        }
    }
}
