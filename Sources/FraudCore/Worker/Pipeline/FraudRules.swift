/// Human-readable reason codes and the decision policy on top of the model's score.
public struct FraudRules: Sendable, Equatable {
    /// `is_fraud` and `decline` at or above this score.
    public var threshold: Double
    /// `review` at or above this score.
    public var reviewThreshold: Double

    /// Creates the policy.
    public init(threshold: Double, reviewThreshold: Double) {
        self.threshold = threshold
        self.reviewThreshold = min(reviewThreshold, threshold)
    }

    /// Reasons that send a transaction to at least `review` whatever the score.
    public static let hardReasons: Set<String> = ["ip_blocklist", "impossible_travel", "click_spam"]

    /// Reason codes that explain what in the features looks risky, in a fixed order.
    public func reasons(_ features: [Double]) -> [String] {
        var codes: [String] = []
        if features[Feature.unknownUser] == 1 { codes.append("new_user") }
        if features[Feature.ipBlocklisted] == 1 { codes.append("ip_blocklist") }
        if features[Feature.clickSpam] == 1 { codes.append("click_spam") }
        if features[Feature.transactionsLastMinute] >= 5 { codes.append("velocity_1m") }
        if features[Feature.transactionsLastHour] >= 20 { codes.append("velocity_1h") }
        if features[Feature.transactionsLastMinute] >= 3 && features[Feature.amount] < 5 { codes.append("card_testing") }
        if features[Feature.travelSpeedKilometresPerHour] > 900 { codes.append("impossible_travel") }
        if features[Feature.userTransactionCount] >= 3 && features[Feature.amountToMeanRatio] >= 5 { codes.append("amount_spike") }
        if features[Feature.newDevice] == 1 && features[Feature.userTransactionCount] > 0 { codes.append("new_device") }
        if features[Feature.distanceFromHomeKilometres] > 1_000 { codes.append("far_from_home") }
        if features[Feature.distinctMerchantsLastHour] >= 5 { codes.append("many_merchants_1h") }
        return codes
    }

    /// The decision and reasons for a score.
    public func decide(score: Double, features: [Double], modelVersion: Int) -> ScoredDecision {
        var codes = reasons(features)
        let isFraud = score >= threshold
        var decision = isFraud ? "decline" : (score >= reviewThreshold ? "review" : "approve")
        if decision == "approve" && codes.contains(where: Self.hardReasons.contains) { decision = "review" }
        if isFraud && codes.allSatisfy({ $0 == "new_user" }) { codes.append("model_score") }
        return ScoredDecision(
            score: score, isFraud: isFraud, decision: decision, reasons: codes.joined(separator: ","), modelVersion: modelVersion)
    }
}
