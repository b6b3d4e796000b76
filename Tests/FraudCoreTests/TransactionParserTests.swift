import Testing

@testable import FraudCore

@Suite("Input validation (data contract)")
struct TransactionParserTests {
    let valid: [(String, String)] = [
        ("transaction_id", "t1"), ("user_id", "u1"), ("amount", "12.50"), ("merchant_id", "m1"),
        ("timestamp", "1790812800123"), ("lat", "40.7"), ("lon", "-74.0"), ("is_fraud", "1"), ("extra", "kept"),
    ]

    func reject(_ fields: [(String, String)]) -> TransactionParser.Rejection? {
        if case .failure(let rejection) = TransactionParser.parse(fields) { return rejection }
        return nil
    }

    @Test func parsesFlatEntryWithDefaultsAndIgnoresUnknownFields() throws {
        let transaction = try TransactionParser.parse(valid).get()
        #expect(transaction.transactionId == "t1")
        #expect(transaction.amount == 12.5)
        #expect(transaction.timestampMilliseconds == 1_790_812_800_123)
        #expect(transaction.currency == "USD")
        #expect(transaction.latitude == 40.7)
        #expect(transaction.isFraud == true)
    }

    @Test func deadLettersEntryWithoutAmount() {
        #expect(reject(valid.filter { $0.0 != "amount" })?.reason == "missing required field 'amount'")
    }

    @Test func rejectsBadAmountsTimestampsIdsLocationsAndLabels() {
        func with(_ name: String, _ value: String) -> [(String, String)] { valid.map { $0.0 == name ? (name, value) : $0 } }
        #expect(reject(with("amount", "-3"))?.code == "invalid_amount")
        #expect(reject(with("amount", "0"))?.code == "invalid_amount")
        #expect(reject(with("amount", "nan"))?.code == "invalid_amount")
        #expect(reject(with("amount", "inf"))?.code == "invalid_amount")
        #expect(reject(with("amount", "12,5"))?.code == "invalid_amount")
        #expect(reject(with("timestamp", "2026-10-01"))?.code == "invalid_timestamp")
        #expect(reject(with("timestamp", "1790812800.5"))?.code == "invalid_timestamp")
        #expect(reject(with("user_id", String(repeating: "x", count: 129)))?.code == "field_too_long")
        #expect(reject(with("lat", "91"))?.code == "invalid_location")
        #expect(reject(valid.filter { $0.0 != "lon" })?.code == "invalid_location")
        #expect(reject(with("is_fraud", "maybe"))?.code == "invalid_label")
        #expect(reject([])?.code == "empty_entry")
    }

    @Test func acceptsReferencePipelineJSONWithSecondsAndLocation() throws {
        let json = #"{"transaction_id":"t9","user_id":"u9","amount":42.1,"merchant_id":"m9","timestamp":1790812800,"location":"-74.0,40.7","is_fraud":false}"#
        let transaction = try TransactionParser.parse([("data", json)]).get()
        #expect(transaction.timestampMilliseconds == 1_790_812_800_000)
        #expect(transaction.longitude == -74.0)
        #expect(transaction.latitude == 40.7)
        #expect(transaction.amount == 42.1)
        #expect(transaction.isFraud == false)
        #expect(reject([("data", "{not json")])?.code == "invalid_json")
        #expect(reject([("data", #"{"transaction_id":"t"}"#)])?.code == "missing_field")
    }
}

@Suite("Batching state machine (no server)")
struct BatchingStateTests {
    @Test func emitsAtBatchSize() {
        var state = BatchingState(batchSize: 10, lingerMilliseconds: 50, idleBlockMilliseconds: 1000)
        #expect(state.firstAction == .read(count: 10, blockMilliseconds: 1000))
        #expect(state.received(4, nowMilliseconds: 0) == .read(count: 6, blockMilliseconds: 50))
        #expect(state.received(6, nowMilliseconds: 10) == .emit)
    }

    @Test func emitsWhenLingerExpiresAndKeepsBlockingWhileEmpty() {
        var state = BatchingState(batchSize: 10, lingerMilliseconds: 50, idleBlockMilliseconds: 1000)
        #expect(state.received(0, nowMilliseconds: 0) == .read(count: 10, blockMilliseconds: 1000))
        #expect(state.received(2, nowMilliseconds: 100) == .read(count: 8, blockMilliseconds: 50))
        #expect(state.received(1, nowMilliseconds: 130) == .read(count: 7, blockMilliseconds: 20))
        #expect(state.received(0, nowMilliseconds: 150) == .emit)
        state.reset()
        #expect(state.collected == 0)
    }

    @Test func zeroLingerSendsWhatOneReadReturned() {
        var state = BatchingState(batchSize: 100, lingerMilliseconds: 0, idleBlockMilliseconds: 500)
        #expect(state.received(3, nowMilliseconds: 0) == .emit)
    }
}

@Suite("In-flight limiter (no server)")
struct InFlightLimiterTests {
    @Test func blocksAtCapacityAndWakesOnRelease() async throws {
        let limiter = InFlightLimiter(capacity: 2)
        try await limiter.acquire()
        try await limiter.acquire()
        let third = Task { try await limiter.acquire() }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(await limiter.inFlight == 2)
        await limiter.release()
        try await third.value
        #expect(await limiter.inFlight == 2)
        #expect(await limiter.highWaterMark == 2)
    }
}

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
