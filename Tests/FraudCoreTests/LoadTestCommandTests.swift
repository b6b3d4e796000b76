import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("fraudstream load-test against a real redis-server")
struct LoadTestCommandTests {
    @Test func loadTestFailsWhenNoWorkerProcessesTheRun() async throws {
        try await WorkerHarness.with { harness in
            let outcome = try await FraudStreamBinary.run([
                "load-test", "--workers", "0", "--count", "30", "--tps", "1000", "--drain-timeout", "1", "--users", "50",
                "--redis-url", "redis://127.0.0.1:\(harness.server.port)",
            ])
            #expect(outcome.status != 0)
            #expect(outcome.standardError.contains("30 transactions of run"))
            #expect(outcome.standardError.contains("left unprocessed"))
            #expect(try await harness.length("fraud:transactions") == 30)
        }
    }
}
