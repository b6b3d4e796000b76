import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Model hot swap against a real redis-server")
struct ModelHotSwapTests {
    @Test func promotedModelIsServedWithoutRestart() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<50).map { WorkerHarness.fields($0) })
            let assembly = try await harness.runWorker(
                harness.configuration(),
                while: { _ in
                    while try await harness.length("fraud:results") < 50 { try await Task.sleep(for: .milliseconds(20)) }
                    let store = ModelStore(namespace: "fraud")
                    _ = try await store.save(WorkerHarness.tinyModel(seed: 2), promote: true, on: harness.redis)
                    try await Task.sleep(for: .milliseconds(400))
                    try await harness.publish((50..<100).map { WorkerHarness.fields($0) })
                },
                until: { try await harness.length("fraud:results") >= 100 })
            let versions = try await harness.entries("fraud:results").map { $0["model_version"] ?? "" }
            #expect(versions.prefix(50).allSatisfy { $0 == "1" })
            #expect(versions.suffix(50).allSatisfy { $0 == "2" })
            #expect(await assembly.scorer.modelVersion == 2)
        }
    }
}
