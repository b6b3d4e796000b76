import Foundation
import Testing

@Suite("fraudstream command line")
struct CommandLineTests {
    @Test func badFlagGivesOneLineAndNonZeroExit() async throws {
        let outcome = try await FraudStreamBinary.run(["doctor", "--no-such-flag"])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.split(separator: "\n").count == 1)
        #expect(outcome.standardError.contains("--no-such-flag"))
    }

    @Test func helpListsSubcommands() async throws {
        let outcome = try await FraudStreamBinary.run(["--help"])
        #expect(outcome.status == 0)
        #expect(outcome.standardOutput.contains("doctor"))
        #expect(outcome.standardOutput.contains("bench"))
    }
}
