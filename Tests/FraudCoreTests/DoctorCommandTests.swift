import Foundation
import RedisHarness
import Testing

@Suite("fraudstream doctor command")
struct DoctorCommandTests {
    @Test func doctorAgainstUnreachableRedisPrintsOneLineAndFails() async throws {
        let outcome = try await FraudStreamBinary.run(["doctor"], environment: ["REDIS_URL": "redis://127.0.0.1:1"])
        #expect(outcome.status != 0)
        let lines = outcome.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("cannot connect to redis://127.0.0.1:1") == true)
        #expect(!outcome.standardError.contains("Fatal error"))
    }

    @Test func doctorAgainstRealServerExitsZero() async throws {
        try await withRedisServer { server in
            let outcome = try await FraudStreamBinary.run(["doctor", "--redis-url", "redis://127.0.0.1:\(server.port)"])
            #expect(outcome.status == 0)
            #expect(outcome.standardOutput.contains("version"))
            #expect(outcome.standardOutput.contains("7."))
        }
    }
}
