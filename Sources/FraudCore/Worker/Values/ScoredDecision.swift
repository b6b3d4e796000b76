/// The model's verdict on one transaction.
public struct ScoredDecision: Sendable, Equatable, Codable {
    /// Fraud probability 0…1.
    public var score: Double
    /// `score >= threshold`.
    public var isFraud: Bool
    /// `approve`, `review` or `decline`.
    public var decision: String
    /// Comma-separated reason codes.
    public var reasons: String
    /// The model version that scored it.
    public var modelVersion: Int
    /// The shadow (challenger) model's score of the same vector, when one is set (`models shadow N`); it decides nothing.
    public var shadowScore: Double?
    /// Whether the shadow model's score is at or above the threshold.
    public var shadowIsFraud: Bool?
    /// The shadow model's version.
    public var shadowModelVersion: Int?
    /// The rule set version that applied the rules (0: the built-in rules); nil when no rules were applied (a degraded
    /// answer, or a decision stored before versions were recorded).
    public var rulesVersion: Int?

    /// Creates a decision (the API rebuilds one from its stored decision key).
    public init(score: Double, isFraud: Bool, decision: String, reasons: String, modelVersion: Int) {
        self.score = score
        self.isFraud = isFraud
        self.decision = decision
        self.reasons = reasons
        self.modelVersion = modelVersion
    }
}
