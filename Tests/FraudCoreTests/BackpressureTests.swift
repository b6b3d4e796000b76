import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Backpressure against a real redis-server")
struct BackpressureTests {
    @Test func backpressureBoundsInFlightEntriesWhenAStageIsSlow() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<600).map { WorkerHarness.fields($0) })
            var configuration = harness.configuration()
            configuration.batchSize = 20
            configuration.maxInFlight = 3
            let samples = SampleBox()
            let assembly = try await harness.runWorker(
                configuration, stageDelay: .milliseconds(40),
                while: { _ in
                    // Sample how many entries the group has delivered but not acknowledged.
                    for _ in 0..<20 {
                        try await Task.sleep(for: .milliseconds(30))
                        await samples.add(try await harness.pendingCountOrZeroBeforeGroupExists())
                    }
                },
                until: { try await harness.length("fraud:results") >= 600 })
            #expect(await assembly.limiter.highWaterMark <= 3)
            let observed = await samples.values
            #expect(observed.max() ?? 0 <= 3 * 20)
            #expect(observed.contains { $0 > 0 })  // the pipeline was busy while sampled
            // 600 entries were available, yet reading stayed within the bound.
            #expect(try await harness.length("fraud:results") == 600)
        }
    }
}
