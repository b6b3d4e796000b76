import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Feature fetcher routing against a real redis-server")
struct FeatureRoutingTests {
    static let users = 25  // u0…u19 have profiles, u20…u24 do not
    static let perUser = 12
    static let t0: Int64 = 1_790_812_800_000

    /// The k-th transaction of a user: one every 4 s of event time, so all twelve fall within a minute and
    /// the k-th sees exactly k earlier ones in its 1-minute window. Some users pay tiny amounts (card testing).
    static func fields(user: Int, k: Int) -> [(String, String)] {
        [
            ("transaction_id", "u\(user)-\(k)"), ("user_id", "u\(user)"), ("amount", user % 3 == 0 ? "2.5" : String(20 + k)),
            ("merchant_id", "m\((user + k) % 7)"), ("timestamp", String(t0 + Int64(user) * 100 + Int64(k) * 4_000)),
            ("lat", "40.5"), ("lon", "-74.1"), ("device_id", "d\(user)-\(k % 2)"), ("ip", "10.0.0.1"), ("run_id", "run-order"),
            ("is_fraud", "0"),
        ]
    }

    @Test func severalFetchersKeepEachUsersTransactionsInStreamOrder() async throws {
        // Users interleaved in the stream, several of each user's transactions in every batch.
        let stream = (0..<Self.perUser).flatMap { k in (0..<Self.users).map { Self.fields(user: $0, k: k) } }
        let fetchers = 3
        #expect(Set((0..<Self.users).map { FeatureStage.route("u\($0)", fetchers: fetchers) }).count == fetchers)
        let results = try await WorkerHarness.with { harness in
            try await harness.publish(stream)
            var configuration = harness.configuration()
            configuration.batchSize = 100
            configuration.fetchers = fetchers
            _ = try await harness.runWorker(configuration) { try await harness.length("fraud:results") >= stream.count }
            return try await harness.entries("fraud:results")
        }
        #expect(results.count == stream.count)
        let byId = Dictionary(results.map { ($0["transaction_id"] ?? "", $0) }, uniquingKeysWith: { first, _ in first })

        // The velocity counts grow in stream order: velocity_1m (5+ earlier in the last minute) from the 6th on.
        for user in 0..<Self.users {
            let flags = (0..<Self.perUser).map { k in byId["u\(user)-\(k)"]?["reasons"]?.contains("velocity_1m") }
            #expect(flags == (0..<Self.perUser).map { $0 >= 5 }, "velocity_1m of u\(user) in stream order")
        }

        // Every decision equals the one computed from features fetched one transaction at a time, in stream
        // order, on a second server with the same profiles, blocklist and model.
        let expected = try await WorkerHarness.with { reference in
            let transactions = try stream.map { try TransactionParser.parse($0).get() }
            let store = FeatureStore(namespace: reference.namespace)
            var settings = FeatureSettings()
            settings.namespace = reference.namespace
            let extractor = FeatureExtractor(settings: settings, blocklistShape: try await store.blocklistShape(on: reference.redis))
            let vectors = try await store.replay(transactions, extractor: extractor, batchSize: 1, on: reference.redis)
            let model = try await ModelStore(namespace: reference.namespace).load(on: reference.redis)
            let rules = FraudRules(threshold: 0.7, reviewThreshold: 0.3)
            return zip(transactions, vectors).map { transaction, vector in
                (transaction.transactionId, rules.decide(score: model.ensemble.probability(vector), features: vector, modelVersion: model.version))
            }
        }
        var mismatches: [String] = []
        for (id, decision) in expected {
            guard let result = byId[id] else {
                mismatches.append("\(id): no result")
                continue
            }
            let score = Double(result["score"] ?? "") ?? -1
            if result["reasons"] != decision.reasons || result["decision"] != decision.decision || abs(score - decision.score) > 1e-6 {
                mismatches.append("\(id): \(result["reasons"] ?? "") \(result["decision"] ?? "") \(score) ≠ \(decision.reasons) \(decision.decision) \(decision.score)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }
}
