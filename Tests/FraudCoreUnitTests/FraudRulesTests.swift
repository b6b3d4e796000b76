import Testing

@testable import FraudCore

@Suite("Rules and decisions (no server)")
struct FraudRulesTests {
    @Test func explainsAndDecides() {
        let rules = FraudRules(threshold: 0.7, reviewThreshold: 0.3)
        var features = [Double](repeating: 0, count: FeatureSchema.count)
        features[Feature.ipBlocklisted] = 1
        features[Feature.transactionsLastMinute] = 6
        features[Feature.amount] = 2
        let low = rules.decide(score: 0.1, features: features, modelVersion: 3)
        #expect(low.decision == "review")  // a hard reason lifts approve to review
        #expect(low.reasons == "ip_blocklist,velocity_1m,card_testing")
        #expect(!low.isFraud)
        let high = rules.decide(score: 0.9, features: [Double](repeating: 0, count: FeatureSchema.count), modelVersion: 3)
        #expect(high.decision == "decline")
        #expect(high.isFraud)
        #expect(high.reasons == "model_score")
        #expect(rules.decide(score: 0.5, features: [Double](repeating: 0, count: FeatureSchema.count), modelVersion: 3).decision == "review")
    }
}
