import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Starts a server with the feature library loaded.
func withFeatureServer<T>(
    settings: FeatureSettings = FeatureSettings(),
    _ body: (RedisConnection, FeatureStore, FeatureExtractor) async throws -> T
) async throws -> T {
    try await withRedisServer { server in
        let redis = try await RedisConnection.connect(server.configuration)
        let store = FeatureStore(namespace: settings.namespace)
        try await store.loadLibrary(on: redis)
        let extractor = FeatureExtractor(settings: settings, blocklistShape: nil)
        return try await body(redis, store, extractor)
    }
}

func tx(
    _ id: String, user: String = "u1", amount: Double = 10, merchant: String = "m1", at ms: Int64,
    device: String? = nil, ip: String? = nil, lat: Double? = nil, lon: Double? = nil, card: String? = nil,
    category: String? = nil
) -> Transaction {
    Transaction(
        transactionId: id, userId: user, amount: amount, merchantId: merchant, timestampMilliseconds: ms,
        cardProvider: card, merchantCategory: category, latitude: lat, longitude: lon, deviceId: device, ip: ip)
}

/// Deterministic test data from the project's own seeded generator.
typealias TestRandom = SeededRandom
