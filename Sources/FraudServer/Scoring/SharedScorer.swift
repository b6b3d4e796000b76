import FraudCore
import Synchronization

/// The scoring API's model and rules, read without an actor hop: each lane scores its batch on its own
/// connection thread under a short lock, and a promoted model (``ModelWatcher``) takes over at the next batch.
public final class SharedScorer: ModelReceiver {
    private struct State {
        var model: ModelRecord
        var pending: ModelRecord?
        var rules: FraudRules
        var rulesVersion: Int
        var shadow: ModelRecord?
    }

    private let state: Mutex<State>

    /// Creates a scorer serving `model` with `rules` (rule set version `rulesVersion`; 0 = the built-in one).
    public init(model: ModelRecord, rules: FraudRules, rulesVersion: Int = 0) {
        state = Mutex(State(model: model, pending: nil, rules: rules, rulesVersion: rulesVersion))
    }

    /// The rules on top of the score, as they decide now.
    public var rules: FraudRules { state.withLock { $0.rules } }

    /// The model that scores the next batch: a queued one, else the one in use.
    public var servingModel: ModelRecord { state.withLock { $0.pending ?? $0.model } }

    /// The version that will score next.
    public var nextModelVersion: Int { servingModel.version }

    /// Queues a model for the next batch.
    public func install(_ record: ModelRecord) {
        state.withLock { state in
            if record.version != state.model.version || state.pending != nil { state.pending = record }
        }
    }

    /// The model and rules for a batch, switching to a queued model first.
    private func modelForBatch() -> (ModelRecord, FraudRules, ModelRecord?) {
        state.withLock { state in
            if let next = state.pending {
                state.model = next
                state.pending = nil
            }
            return (state.model, state.rules, state.shadow)
        }
    }

    /// Scores a micro-batch (with the transactions, for rules on their text fields).
    func score(_ vectors: [[Double]], explain: [Bool], transactions: [Transaction]? = nil) -> [ExplainedDecision] {
        let (model, rules, shadow) = modelForBatch()
        return model.explainedDecisions(vectors, explain: explain, rules: rules, transactions: transactions, shadow: shadow)
    }

    /// The degraded answer's decision for a transaction-only vector.
    func degraded(_ vector: [Double], decision: String) -> ScoredDecision {
        servingModel.degradedDecision(vector, decision: decision)
    }
}

extension SharedScorer: RuleReceiver {
    /// The rule set version deciding now.
    public var nextRulesVersion: Int { state.withLock { $0.rulesVersion } }

    /// Takes effect for the next batch any lane scores.
    public func install(rules ruleSet: RuleSet, version: Int) {
        state.withLock { state in
            state.rules.ruleSet = ruleSet
            state.rulesVersion = version
        }
    }
}

extension SharedScorer: ShadowReceiver {
    /// The shadow model's version, nil when none.
    public var shadowModelVersion: Int? { state.withLock { $0.shadow?.version } }

    /// Sets (nil: clears) the shadow model for the next batches.
    public func installShadow(_ record: ModelRecord?) {
        state.withLock { $0.shadow = record }
    }
}
