import Foundation
import RedisHarness
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
        ["generate", "--interval", "0.5", "--tps", "100"],
        ["monitor", "--latest", "--runs"],
        ["monitor", "--stats", "--json", "--runs"],
        ["monitor", "--count", "many"],
        ["load-test", "--workers", "99"],
        ["prepare", "--trees", "0"],
        ["train", "--trees", "0"],
        ["train", "--world", "Fixtures/world-sample", "--from-csv", "rows.csv"],
        ["models", "show", "latest"],
        ["models", "promote", "two"],
        ["export-features", "--out", "/dev/null", "--users", "0"],
        ["bench", "--requests", "0"],
        ["bench", "--suite", "nope"],
        ["doctor", "--connect-timeout-ms", "soon"],
    ]

    /// Every command that talks to Redis, with a malformed `--redis-url` (a bad setting, not a bad flag).
    static let badRedisURL: [[String]] = [
        ["worker"], ["generate", "--count", "5"], ["monitor", "--latest"], ["load-test"], ["prepare"], ["train"], ["models", "list"],
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

    /// Bad environment values, each with the one line the worker must print (and exit 64 for).
    static let badEnvironment: [(variable: String, value: String, line: String)] = [
        ("FRAUD_THRESHOLD", "abc", "fraudstream: FRAUD_THRESHOLD 'abc' is not a decimal number (use a point: 0.5)"),
        ("FRAUD_THRESHOLD", "0,5", "fraudstream: FRAUD_THRESHOLD '0,5' is not a decimal number (use a point: 0.5)"),
        ("BATCH_SIZE", "abc", "fraudstream: BATCH_SIZE 'abc' is not an integer"),
        ("MAX_IN_FLIGHT", "abc", "fraudstream: MAX_IN_FLIGHT 'abc' is not an integer"),
        ("RESULT_TTL", "abc", "fraudstream: RESULT_TTL 'abc' is not an integer"),
        ("MAX_STREAM_LENGTH", "abc", "fraudstream: MAX_STREAM_LENGTH 'abc' is not an integer"),
        ("BLOCK_MS", "abc", "fraudstream: BLOCK_MS 'abc' is not an integer"),
        ("MAX_DELIVERIES", "abc", "fraudstream: MAX_DELIVERIES 'abc' is not an integer"),
        ("LOG_LEVEL", "bogus", "fraudstream: LOG_LEVEL 'bogus' must be one of trace, debug, info, notice, warning, error, critical"),
        ("SHUTDOWN_TIMEOUT_MS", "-5", "fraudstream: SHUTDOWN_TIMEOUT_MS '-5' must be between 100 and 600000"),
    ]

    @Test(arguments: 0..<badEnvironment.count)
    func badEnvironmentValueGivesOneLineNamingTheVariable(_ index: Int) async throws {
        let entry = Self.badEnvironment[index]
        let outcome = try await FraudStreamBinary.run(["worker"], environment: ["REDIS_URL": "redis://127.0.0.1:1", entry.variable: entry.value])
        #expect(outcome.status == 64)
        #expect(outcome.standardError == entry.line + "\n")
    }

    @Test func missingWorldDirectoryIsASentenceWithoutUsageHint() async throws {
        try await withRedisServer { server in
            let outcome = try await FraudStreamBinary.run(
                ["prepare", "--world", "/nonexistent-world", "--redis-url", "redis://127.0.0.1:\(server.port)"])
            #expect(outcome.status == 65)
            #expect(outcome.standardError == "fraudstream: cannot read /nonexistent-world/profiles.jsonl: no such file or directory\n")
        }
    }

    @Test func negativeFlagValueIsReadAsAValue() async throws {
        let outcome = try await FraudStreamBinary.run(["worker", "--batch-size", "-1"], environment: ["REDIS_URL": "redis://127.0.0.1:1"])
        #expect(outcome.status == 64)
        #expect(outcome.standardError == "fraudstream: --batch-size '-1' must be between 1 and 10000\n")
    }

    @Test(arguments: badRedisURL)
    func badRedisURLGivesOneLineAndNonZeroExitForEveryCommand(_ arguments: [String]) async throws {
        let outcome = try await FraudStreamBinary.run(arguments)
        Self.expectOneLineFailure(outcome, naming: ["ftp://nowhere"])
    }
}
