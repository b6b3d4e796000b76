import Foundation
import RedisHarness
import Testing

/// Runs the built `fraudstream` executable, which SwiftPM places next to the test bundle.
struct FraudStreamBinary {
    static var path: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !directory.path.hasSuffix("/debug") && !directory.path.hasSuffix("/release") && directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("fraudstream").path
    }

    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// Runs the binary (or a copy of it at `executable`, from its own directory) on a thread of its own:
    /// waiting for a process must not hold a cooperative-pool thread.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], executable: String? = nil
    ) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    try runBlocking(arguments, environment: environment, executable: executable)
                })
            }.start()
        }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String], executable: String?) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? path)
        if let executable {
            process.currentDirectoryURL = URL(fileURLWithPath: executable).deletingLastPathComponent()
        }
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "REDIS_URL")
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
            standardError: String(decoding: errData, as: UTF8.self))
    }
}

@Suite("fraudstream command line")
struct CommandLineTests {
    @Test func doctorAgainstUnreachableRedisPrintsOneLineAndFails() async throws {
        let outcome = try await FraudStreamBinary.run(["doctor"], environment: ["REDIS_URL": "redis://127.0.0.1:1"])
        #expect(outcome.status != 0)
        let lines = outcome.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("cannot connect to redis://127.0.0.1:1") == true)
        #expect(!outcome.standardError.contains("Fatal error"))
    }

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

    @Test func doctorAgainstRealServerExitsZero() async throws {
        try await withRedisServer { server in
            let outcome = try await FraudStreamBinary.run(["doctor", "--redis-url", "redis://127.0.0.1:\(server.port)"])
            #expect(outcome.status == 0)
            #expect(outcome.standardOutput.contains("version"))
            #expect(outcome.standardOutput.contains("7."))
        }
    }
}
