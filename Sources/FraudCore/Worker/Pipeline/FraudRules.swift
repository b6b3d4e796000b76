/// The decision policy on top of the model's score: thresholds, and a rule set (``RuleSet``) that adds reason
/// codes and can move the decision.
///
/// In order: the matching `score` rules' sum is added to the model's score (clamped to 0…1); at or above
/// ``threshold`` the decision is `decline` and `is_fraud` 1, as it is when a `decline` rule matches; else at or
/// above ``reviewThreshold``, or when a `review` rule matches, `review`; else `approve`. An `approve` rule (an
/// allow rule) makes the decision `approve` and `is_fraud` 0 unless a `decline` or `review` rule matched too. A
/// `decline` whose only reason is `new_user` also gets the reason `model_score` (the model decided).
public struct FraudRules: Sendable, Equatable {
    /// `is_fraud` and `decline` at or above this score.
    public var threshold: Double
    /// `review` at or above this score.
    public var reviewThreshold: Double
    /// The rules (default: ``RuleSet/standard``, the reasons FraudStream always had).
    public var ruleSet: RuleSet

    /// Creates the policy.
    public init(threshold: Double, reviewThreshold: Double, ruleSet: RuleSet = .standard) {
        self.threshold = threshold
        self.reviewThreshold = min(reviewThreshold, threshold)
        self.ruleSet = ruleSet
    }

    /// The decision for a scored transaction.
    public func decide(score: Double, features: [Double], modelVersion: Int, transaction: Transaction? = nil) -> ScoredDecision {
        let verdict = ruleSet.evaluate(RuleInput(features: features, score: score, transaction: transaction))
        var codes = verdict.reasons
        let adjusted = verdict.scoreDelta == 0 ? score : min(1, max(0, score + verdict.scoreDelta))
        var isFraud = adjusted >= threshold || verdict.decline
        var decision = isFraud ? "decline" : (adjusted >= reviewThreshold || verdict.review ? "review" : "approve")
        if verdict.approve && !verdict.decline && !verdict.review {
            decision = "approve"
            isFraud = false
        }
        if isFraud && codes.allSatisfy({ $0 == "new_user" }) { codes.append("model_score") }
        // Optional fields the parser dropped say so in the reasons (their features read as absent).
        if let dropped = transaction?.invalidFields, !dropped.isEmpty { codes += dropped }
        return ScoredDecision(
            score: adjusted, isFraud: isFraud, decision: decision, reasons: codes.joined(separator: ","), modelVersion: modelVersion)
    }
}
