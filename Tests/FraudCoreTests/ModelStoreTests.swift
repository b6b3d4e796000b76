import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Model store in Redis")
struct ModelStoreTests {
    @Test func modelRoundTripsThroughRedisAndPredictsTheSame() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let store = ModelStore(namespace: "fraud")
            let record = WorkerHarness.tinyModel(seed: 5)
            let first = try await store.save(record, promote: true, on: redis)
            let second = try await store.save(WorkerHarness.tinyModel(seed: 6), promote: false, on: redis)
            #expect((first, second) == (1, 2))
            #expect(try await store.versions(on: redis) == [1, 2])
            #expect(try await store.latestVersion(on: redis) == 1)
            let loaded = try await store.load(on: redis)
            #expect(loaded.version == 1)
            #expect(loaded.ensemble == record.ensemble)
            #expect(loaded.featureNames == FeatureSchema.names)
            var random = SeededRandom(seed: 9)
            for _ in 0..<50 {
                let row = (0..<FeatureSchema.count).map { _ in random.uniform(0, 1_000) }
                #expect(loaded.ensemble.probability(row) == record.ensemble.probability(row))
            }
            var withoutFraud = WorkerHarness.tinyModel(seed: 7)
            withoutFraud.metrics.prAUC = .nan  // a held-out split with no fraud rows
            let third = try await store.save(withoutFraud, promote: false, on: redis)
            #expect(try await store.load(third, on: redis).metrics.prAUC.isNaN)
            try await store.promote(2, on: redis)
            #expect(try await store.load(on: redis).version == 2)
            await #expect(throws: FraudError.self) { try await store.promote(9, on: redis) }
        }
    }

    @Test func rejectsCorruptAndMismatchedModels() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let store = ModelStore(namespace: "fraud")
            try await redis.send(RedisCommand("SET", store.key(7), "{\"not\": \"a model\"}"))
            do {
                _ = try await store.load(7, on: redis)
                Issue.record("expected a corrupt model to be rejected")
            } catch let error as FraudError {
                #expect(error.description.contains("corrupt"))
            }
            var mismatched = WorkerHarness.tinyModel(seed: 1)
            mismatched.featureNames = Array(FeatureSchema.names.dropLast()) + ["something_else"]
            let version = try await store.save(mismatched, promote: false, on: redis)
            do {
                _ = try await store.load(version, on: redis)
                Issue.record("expected a model with other features to be rejected")
            } catch let error as FraudError {
                #expect(error.description.contains("features this build does not compute"))
                #expect(error.description.contains("click_spam"))
                #expect(error.description.contains("something_else"))
            }
            // Trees pointing outside their node arrays.
            var broken = WorkerHarness.tinyModel(seed: 1)
            broken.ensemble.nodeLeft[0] = 1_000_000
            let json = try JSONEncoder().encode(broken)
            try await redis.send(RedisCommand("SET", store.key(8), String(decoding: json, as: UTF8.self)))
            await #expect(throws: FraudError.self) { try await store.load(8, on: redis) }
            await #expect(throws: FraudError.self) { try await store.load(on: redis) }  // nothing promoted
        }
    }
}
