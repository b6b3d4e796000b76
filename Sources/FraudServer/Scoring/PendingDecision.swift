import FraudCore
import Synchronization

/// One transaction waiting for its decision: the meeting point of the request handler (which waits, and
/// answers degraded at its deadline) and the scoring lane (which computes and settles).
///
/// The first answer given is the one that counts: the lane *settles* (``settle(_:)``) with its computed answer, or
/// with what the decision key holds (an earlier request's for the same id); a deadline that passes first answers
/// degraded (``expire(degraded:)``) and the lane's later answer does not replace it. Either way the lane hands the
/// recorder the answer the client got, which is what is stored under the decision key and recorded.
final class PendingDecision: Sendable {
    /// The transaction.
    let transaction: Transaction
    /// Whether the answer should carry the feature vector and contributions.
    let explain: Bool
    /// When the request arrived.
    let receivedAt: ContinuousClock.Instant

    private enum State {
        case waiting(CheckedContinuation<DecisionAnswer, Never>?)
        /// The answer given, and when.
        case answered(DecisionAnswer, ContinuousClock.Instant)
    }

    private let state = Mutex<State>(.waiting(nil))

    /// Creates a pending decision.
    init(transaction: Transaction, explain: Bool, receivedAt: ContinuousClock.Instant = .now) {
        self.transaction = transaction
        self.explain = explain
        self.receivedAt = receivedAt
    }

    /// Waits for the answer (given by the lane or by ``expire(degraded:)``).
    nonisolated(nonsending) func wait() async -> DecisionAnswer {
        await withCheckedContinuation { continuation in
            let ready: DecisionAnswer? = state.withLock { state in
                switch state {
                case .waiting: state = .waiting(continuation); return nil
                case .answered(let answer, _): return answer
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Gives `answer` unless an answer was given already; returns the answer the client gets.
    @discardableResult
    func settle(_ answer: DecisionAnswer) -> DecisionAnswer {
        let (given, continuation) = state.withLock { state -> (DecisionAnswer, CheckedContinuation<DecisionAnswer, Never>?) in
            switch state {
            case .waiting(let continuation):
                state = .answered(answer, .now)
                return (answer, continuation)
            case .answered(let given, _):
                return (given, nil)
            }
        }
        continuation?.resume(returning: given)
        return given
    }

    /// The deadline passed: answers with `degraded` unless the lane answered first.
    func expire(degraded: DecisionAnswer) {
        let (given, continuation) = state.withLock { state -> (DecisionAnswer?, CheckedContinuation<DecisionAnswer, Never>?) in
            switch state {
            case .waiting(let continuation):
                state = .answered(degraded, .now)
                return (degraded, continuation)
            case .answered:
                return (nil, nil)
            }
        }
        if let given { continuation?.resume(returning: given) }
    }

    /// The answer the client got, once it has one.
    var answer: DecisionAnswer? { answered?.answer }

    /// The answer the client got and when it got it, once it has one.
    var answered: (answer: DecisionAnswer, at: ContinuousClock.Instant)? {
        state.withLock { state in
            if case .answered(let answer, let at) = state { return (answer, at) }
            return nil
        }
    }

    /// Whether the client has its answer already.
    var isAnswered: Bool {
        state.withLock { state in
            if case .answered = state { return true }
            return false
        }
    }
}
