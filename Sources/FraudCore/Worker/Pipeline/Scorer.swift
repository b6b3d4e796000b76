import Logging

/// Scores batches with the current model and the rules; swaps models between batches.
public actor Scorer {
    private var model: ModelRecord
    private var pending: ModelRecord?
    private var rules: FraudRules
    private var rulesVersion: Int
    private var pendingRules: (ruleSet: RuleSet, version: Int)?
    /// The challenger scoring every transaction too, without deciding (`models shadow N`).
    private var shadow: ModelRecord?
    private let logger: Logger

    /// Creates a scorer serving `model` with `rules` (rule set version `rulesVersion`; 0 = the built-in one).
    public init(model: ModelRecord, rules: FraudRules, rulesVersion: Int = 0, logger: Logger) {
        self.model = model
        self.rules = rules
        self.rulesVersion = rulesVersion
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
    public func score(_ vectors: [[Double]], transactions: [Transaction]? = nil) -> [ScoredDecision] {
        switchToPendingModel()
        let ensemble = model.ensemble
        let version = model.version
        let shadow = self.shadow
        let threshold = rules.threshold
        return vectors.indices.map { index in
            let vector = vectors[index]
            var decision = rules.decide(
                score: ensemble.probability(vector), features: vector, modelVersion: version, transaction: transactions?[index])
            if let shadow {
                let score = shadow.ensemble.probability(vector)
                decision.shadowScore = score
                decision.shadowIsFraud = score >= threshold
                decision.shadowModelVersion = shadow.version
            }
            return decision
        }
    }

    /// The shadow model's version, nil when none.
    public var shadowModelVersion: Int? { shadow?.version }

    /// Sets (nil: clears) the shadow model; the next batch is scored with it too.
    public func installShadow(_ record: ModelRecord?) {
        if record?.version != shadow?.version {
            logger.notice("shadow model changed", metadata: ["from": "\(shadow?.version.description ?? "none")", "to": "\(record?.version.description ?? "none")"])
        }
        shadow = record
    }

    /// The rule set version deciding now, or at the next batch when one is queued.
    public var nextRulesVersion: Int { pendingRules?.version ?? rulesVersion }

    /// Queues a rule set for the next batch.
    public func install(rules ruleSet: RuleSet, version: Int) {
        pendingRules = (ruleSet, version)
    }


    private func switchToPendingModel() {
        if let next = pendingRules {
            logger.notice("switched rules between batches", metadata: ["from": "\(rulesVersion)", "to": "\(next.version)"])
            rules.ruleSet = next.ruleSet
            rulesVersion = next.version
            pendingRules = nil
        }
        if let next = pending {
            logger.notice("switched model between batches", metadata: ["from": "\(model.version)", "to": "\(next.version)"])
            model = next
            pending = nil
        }
    }
}

extension Scorer: ModelReceiver {}
extension Scorer: RuleReceiver {}

/// What follows promotions (``ModelWatcher``): the worker's ``Scorer``, the scoring API's scorer.
public protocol ModelReceiver: Sendable {
    /// The version that will score next.
    var nextModelVersion: Int { get async }
    /// Queues a model to take over at the next batch boundary.
    func install(_ record: ModelRecord) async
}

extension ModelRecord {
    /// Scores `vectors` with this model and `rules` and, where `explain` says so, splits each margin into
    /// per-feature contributions (the same model version as the score).
    public func explainedDecisions(
        _ vectors: [[Double]], explain: [Bool], rules: FraudRules, transactions: [Transaction]? = nil, shadow: ModelRecord? = nil
    ) -> [ExplainedDecision] {
        vectors.indices.map { index in
            let (vector, wanted) = (vectors[index], explain[index])
            var decision = rules.decide(
                score: ensemble.probability(vector), features: vector, modelVersion: version, transaction: transactions?[index])
            if let shadow {
                let score = shadow.ensemble.probability(vector)
                decision.shadowScore = score
                decision.shadowIsFraud = score >= rules.threshold
                decision.shadowModelVersion = shadow.version
            }
            guard wanted else { return ExplainedDecision(decision: decision, baseMargin: 0, contributions: nil) }
            let split = ensemble.contributions(vector)
            return ExplainedDecision(decision: decision, baseMargin: split.base, contributions: split.features)
        }
    }

    /// The answer when no state could be read in time: this model's score of the transaction-only `vector`,
    /// the configured `decision`, and the reason `degraded`.
    public func degradedDecision(_ vector: [Double], decision: String) -> ScoredDecision {
        ScoredDecision(
            score: ensemble.probability(vector), isFraud: decision == "decline", decision: decision, reasons: "degraded",
            modelVersion: version)
    }
}

/// A decision with, when asked for, the features' shares of the model's margin (they add up to the margin
/// with ``baseMargin``).
public struct ExplainedDecision: Sendable {
    /// The decision.
    public var decision: ScoredDecision
    /// The margin before any feature's share.
    public var baseMargin: Double
    /// One share per feature in ``FeatureSchema/names`` order, or `nil` when not asked for.
    public var contributions: [Double]?
}
