import Logging

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

    /// The version that will score the next batch: a queued one, else the one in use.
    public var nextModelVersion: Int { pending?.version ?? model.version }

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
