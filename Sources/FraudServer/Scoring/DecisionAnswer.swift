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
    /// The margin before any feature's share, with ``contributions``.
    public var baseMargin: Double?
    /// Each feature's share of the margin, when an explanation was asked for.
    public var contributions: [Double]?

    /// Creates an answer.
    public init(
        decision: ScoredDecision, degraded: Bool = false, replayed: Bool = false, features: [Double]? = nil,
        baseMargin: Double? = nil, contributions: [Double]? = nil
    ) {
        self.decision = decision
        self.degraded = degraded
        self.replayed = replayed
        self.features = features
        self.baseMargin = baseMargin
        self.contributions = contributions
    }
}

/// The first decision of a transaction as kept in its decision key (compact JSON), so a retry gets it back.
struct StoredDecision: Codable, Equatable {
    /// Score.
    var s: Double
    /// `is_fraud` 0/1.
    var f: Int
    /// Decision.
    var d: String
    /// Reasons, comma-separated.
    var r: String
    /// Model version.
    var v: Int
    /// Degraded 0/1.
    var g: Int

    init(_ answer: DecisionAnswer) {
        s = answer.decision.score
        f = answer.decision.isFraud ? 1 : 0
        d = answer.decision.decision
        r = answer.decision.reasons
        v = answer.decision.modelVersion
        g = answer.degraded ? 1 : 0
    }

    /// The JSON text stored.
    var json: String {
        // Encoding five scalars cannot fail.
        String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Decodes a stored decision; `nil` when the key holds something else.
    static func decode(_ bytes: [UInt8]) -> StoredDecision? {
        try? JSONDecoder().decode(StoredDecision.self, from: Data(bytes))
    }

    /// The answer a retry gets.
    var replayedAnswer: DecisionAnswer {
        DecisionAnswer(
            decision: ScoredDecision(score: s, isFraud: f == 1, decision: d, reasons: r, modelVersion: v), degraded: g == 1,
            replayed: true)
    }
}
