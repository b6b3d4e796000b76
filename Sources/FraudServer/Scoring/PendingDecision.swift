import FraudCore
import Synchronization

/// One transaction waiting for its decision: the meeting point of the request handler (which waits, and
/// answers degraded at its deadline) and the scoring lane (which computes, stores and settles).
///
/// The first answer given is the one that counts, and the lane stores exactly the answer the client got:
/// - waiting → the lane *proposes* its computed answer (``propose(_:)``), which becomes what a deadline
///   that passes now answers with, and stores it; then it *settles* (``settle(_:)``) with what the decision
///   key holds (its own answer, or an earlier request's for the same id).
/// - waiting → the deadline passes first: the handler answers degraded (``expire(degraded:)``); the lane
///   then stores the degraded answer instead of its own, so a retry gets what the client got.
final class PendingDecision: Sendable {
    /// The transaction.
    let transaction: Transaction
    /// Whether the answer should carry the feature vector and contributions.
    let explain: Bool
    /// When the request arrived.
    let receivedAt: ContinuousClock.Instant

    private enum State {
        case waiting(CheckedContinuation<DecisionAnswer, Never>?)
        case computed(DecisionAnswer, CheckedContinuation<DecisionAnswer, Never>?)
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
    func wait() async -> DecisionAnswer {
        await withCheckedContinuation { continuation in
            let ready: DecisionAnswer? = state.withLock { state in
                switch state {
                case .waiting: state = .waiting(continuation); return nil
                case .computed(let answer, _): state = .computed(answer, continuation); return nil
                case .answered(let answer, _): return answer
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// The lane's computed answer; returns the answer to store: `answer`, or the degraded one already given.
    func propose(_ answer: DecisionAnswer) -> DecisionAnswer {
        state.withLock { state in
            switch state {
            case .waiting(let continuation): state = .computed(answer, continuation); return answer
            case .computed(let earlier, _): return earlier
            case .answered(let given, _): return given
            }
        }
    }

    /// Gives `answer` unless an answer was given already; returns the answer the client gets.
    @discardableResult
    func settle(_ answer: DecisionAnswer) -> DecisionAnswer {
        let (given, continuation) = state.withLock { state -> (DecisionAnswer, CheckedContinuation<DecisionAnswer, Never>?) in
            switch state {
            case .waiting(let continuation), .computed(_, let continuation):
                state = .answered(answer, .now)
                return (answer, continuation)
            case .answered(let given, _):
                return (given, nil)
            }
        }
        continuation?.resume(returning: given)
        return given
    }

    /// The deadline passed: answers with the lane's computed answer when there is one (features were read in
    /// time; only storing it is late), else with `degraded`.
    func expire(degraded: DecisionAnswer) {
        let (given, continuation) = state.withLock { state -> (DecisionAnswer?, CheckedContinuation<DecisionAnswer, Never>?) in
            switch state {
            case .waiting(let continuation):
                state = .answered(degraded, .now)
                return (degraded, continuation)
            case .computed(let answer, let continuation):
                state = .answered(answer, .now)
                return (answer, continuation)
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
