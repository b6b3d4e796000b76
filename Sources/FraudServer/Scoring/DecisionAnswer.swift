import FraudCore
import Foundation

/// What a scoring request is answered with: the decision and how it came about.
public struct DecisionAnswer: Sendable, Equatable {
    /// The decision.
    public var decision: ScoredDecision
    /// `true` when no state could be read in time and the answer comes from the transaction alone.
    public var degraded: Bool
    /// `true` when this is the stored first decision of a transaction id sent again.
    public var replayed: Bool
    /// The feature vector, when an explanation was asked for and features were computed.
    public var features: [Double]?
    /// The names of ``features``: the built-in ones, then the feature set's.
    public var featureNames: [String]?
    /// The margin before any feature's share, with ``contributions``.
    public var baseMargin: Double?
    /// Each feature's share of the margin, when an explanation was asked for.
    public var contributions: [Double]?
    /// Set when there is no decision to give (``DecisionClaim``): the answer is a `409` with this error and no
    /// decision is disclosed.
    public var refusal: Refusal?

    /// Why a request gets no decision.
    public enum Refusal: String, Sendable, Equatable {
        /// The transaction id was decided before with other contract fields.
        case duplicateConflict = "duplicate_conflict"
        /// Another arrival (the stream worker, another server) is deciding it now.
        case inProgress = "decision_in_progress"

        /// The message of the `409`.
        var message: String {
            switch self {
            case .duplicateConflict: "this transaction_id was decided before with other contract fields; the first decision stands"
            case .inProgress: "this transaction is being decided by another arrival; retry shortly"
            }
        }
    }

    /// An answer that refuses, with no decision.
    static func refused(_ refusal: Refusal) -> DecisionAnswer {
        var answer = DecisionAnswer(decision: ScoredDecision(score: 0, isFraud: false, decision: "", reasons: "", modelVersion: 0))
        answer.refusal = refusal
        return answer
    }

    /// Creates an answer.
    public init(
        decision: ScoredDecision, degraded: Bool = false, replayed: Bool = false, features: [Double]? = nil, featureNames: [String]? = nil,
        baseMargin: Double? = nil, contributions: [Double]? = nil
    ) {
        self.featureNames = featureNames
        self.decision = decision
        self.degraded = degraded
        self.replayed = replayed
        self.features = features
        self.baseMargin = baseMargin
        self.contributions = contributions
    }
}

extension StoredDecision {
    /// The answer a duplicate or a retry gets: the stored first decision.
    var replayedAnswer: DecisionAnswer? {
        decision.map { DecisionAnswer(decision: $0, degraded: degraded, replayed: true) }
    }
}
