import Logging
import ServiceLifecycle

/// Scores batches with the current model and the rules; swaps models between batches.
public actor Scorer {
    private var model: ModelRecord
    private var pending: ModelRecord?
    private let rules: FraudRules
    private let logger: Logger

    /// Creates a scorer serving `model`.
    public init(model: ModelRecord, rules: FraudRules, logger: Logger) {
        self.model = model
        self.rules = rules
        self.logger = logger
    }

    /// The version in use.
    public var modelVersion: Int { model.version }

    /// Queues a model to take over at the next batch boundary.
    public func install(_ record: ModelRecord) {
        guard record.version != model.version || pending != nil else { return }
        pending = record
    }

    /// Scores every item of a batch.
    public func score(_ vectors: [[Double]]) -> [ScoredDecision] {
        if let next = pending {
            logger.notice("switched model between batches", metadata: ["from": "\(model.version)", "to": "\(next.version)"])
            model = next
            pending = nil
        }
        let ensemble = model.ensemble
        let version = model.version
        return vectors.map { vector in
            rules.decide(score: ensemble.probability(vector), features: vector, modelVersion: version)
        }
    }
}

/// The scoring stage: model and rules for each batch.
public struct ScoringStage: Service {
    private let input: Channel<Batch>
    private let output: Channel<Batch>
    private let scorer: Scorer
    private let counters: PipelineCounters
    private let delay: Duration?

    /// `delay` slows every batch down (tests of backpressure).
    init(input: Channel<Batch>, output: Channel<Batch>, scorer: Scorer, counters: PipelineCounters, delay: Duration? = nil) {
        self.input = input
        self.output = output
        self.scorer = scorer
        self.counters = counters
        self.delay = delay
    }

    /// Scores batches until its input ends.
    public func run() async {
        defer { output.finish() }
        for await var batch in input {
            let start = ContinuousClock.now
            batch.timings.queueMicroseconds += (start - batch.dispatchedAt).microseconds
            batch.decisions = await scorer.score(batch.vectors)
            if let delay { try? await Task.sleep(for: delay) }
            let elapsed = (ContinuousClock.now - start).microseconds
            batch.timings.scoringMicroseconds = elapsed
            counters.scored(microseconds: elapsed)
            batch.dispatchedAt = .now
            await output.send(batch)
        }
    }
}
