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

    /// A bad value for one flag of every command; the last two arguments are the flag (or argument) and its value.
    static let badValues: [[String]] = [
        ["worker", "--batch-size", "0"],
        ["worker", "--log-level", "loud"],
        ["generate", "--tps", "0"],
        ["generate", "--pattern", "zigzag"],
        ["monitor", "--count", "many"],
        ["load-test", "--workers", "99"],
        ["prepare", "--trees", "0"],
        ["models", "show", "latest"],
        ["models", "promote", "two"],
        ["export-features", "--out", "/dev/null", "--users", "0"],
        ["bench", "--requests", "0"],
        ["bench", "--suite", "nope"],
        ["doctor", "--connect-timeout-ms", "soon"],
    ]

    /// Every command that talks to Redis, with a malformed `--redis-url` (a bad setting, not a bad flag).
    static let badRedisURL: [[String]] = [
        ["worker"], ["generate", "--count", "5"], ["monitor", "--latest"], ["load-test"], ["prepare"], ["models", "list"],
        ["models", "show"], ["models", "promote", "1"], ["export-features", "--out", "/dev/null"], ["bench", "--suite", "client"],
        ["doctor"],
    ].map { $0 + ["--redis-url", "ftp://nowhere"] }

    /// One line on stderr, naming the problem, a non-zero exit, and no crash report.
    static func expectOneLineFailure(_ outcome: FraudStreamBinary.Outcome, naming words: [String]) {
        #expect(outcome.status != 0)
        let lines = outcome.standardError.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == 1, "stderr: \(outcome.standardError)")
        let line = lines.first ?? ""
        #expect(line.hasPrefix("fraudstream: "))
        #expect(words.contains { line.contains($0) }, "\(line) names none of \(words)")
        for crash in ["Fatal error", "Stack dump", "stack trace", "Backtrace", "Thread 0"] {
            #expect(!outcome.standardError.contains(crash))
        }
    }

    @Test(arguments: badValues)
    func badFlagValueGivesOneLineAndNonZeroExitForEveryCommand(_ arguments: [String]) async throws {
        // Nothing may be reached even if a command connected before validating.
        let outcome = try await FraudStreamBinary.run(arguments, environment: ["REDIS_URL": "redis://127.0.0.1:1"])
        Self.expectOneLineFailure(outcome, naming: Array(arguments.suffix(2)))
    }

    @Test(arguments: badRedisURL)
    func badRedisURLGivesOneLineAndNonZeroExitForEveryCommand(_ arguments: [String]) async throws {
        let outcome = try await FraudStreamBinary.run(arguments)
        Self.expectOneLineFailure(outcome, naming: ["ftp://nowhere"])
    }
}
