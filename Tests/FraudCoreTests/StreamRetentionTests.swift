import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Stream retention against a real redis-server")
struct StreamRetentionTests {
    @Test func inputStreamIsTrimmedOnlyBelowWhatEveryGroupAcknowledged() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<600).map { WorkerHarness.fields($0) })
            // A second group that has read nothing pins the whole stream.
            try await harness.redis.send(RedisCommand("XGROUP", "CREATE", "fraud:transactions", "audit", "0"))
            @Sendable func processed() async throws -> Int {
                try await harness.redis.send(RedisCommand("HGET", "fraud:stats:run:run-test", "processed")).int ?? 0
            }
            var configuration = harness.configuration()
            configuration.maxStreamLength = 100
            configuration.retentionCheckMilliseconds = 50
            _ = try await harness.runWorker(configuration, while: { _ in try await Task.sleep(for: .milliseconds(300)) }) {
                try await processed() >= 600
            }
            #expect(try await harness.length("fraud:transactions") == 600)  // nothing the audit group needs is gone
            try await harness.redis.send(RedisCommand("XGROUP", "DESTROY", "fraud:transactions", "audit"))
            _ = try await harness.runWorker(configuration, timeout: .seconds(60)) {
                try await harness.length("fraud:transactions") < 600
            }
            let remaining = try await harness.length("fraud:transactions")
            #expect(remaining < 600)  // acknowledged entries trimmed (approximately, in whole nodes)
            #expect(try await processed() == 600)
            #expect(try await harness.length("fraud:results") < 600)  // the same cap bounds the results stream
            #expect(try await harness.pendingCount() == 0)
        }
    }
}
