import FraudCore
import Synchronization

/// The scoring API's model and rules, read without an actor hop: each lane scores its batch on its own
/// connection thread under a short lock, and a promoted model (``ModelWatcher``) takes over at the next batch.
public final class SharedScorer: ModelReceiver {
    private struct State {
        var model: ModelRecord
        var pending: ModelRecord?
    }

    /// The rules on top of the score.
    public let rules: FraudRules
    private let state: Mutex<State>

    /// Creates a scorer serving `model`.
    public init(model: ModelRecord, rules: FraudRules) {
        self.rules = rules
        state = Mutex(State(model: model, pending: nil))
    }

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

    /// The model for a batch, switching to a queued one first.
    private func modelForBatch() -> ModelRecord {
        state.withLock { state in
            if let next = state.pending {
                state.model = next
                state.pending = nil
            }
            return state.model
        }
    }

    /// Scores a batch (explanations where asked for).
    func score(_ vectors: [[Double]], explain: [Bool]) -> [ExplainedDecision] {
        modelForBatch().explainedDecisions(vectors, explain: explain, rules: rules)
    }

    /// The degraded answer's decision for a transaction-only vector.
    func degraded(_ vector: [Double], decision: String) -> ScoredDecision {
        servingModel.degradedDecision(vector, decision: decision)
    }
}
