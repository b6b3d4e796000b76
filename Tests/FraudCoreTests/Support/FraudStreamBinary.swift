import Foundation

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

    /// Runs the binary (or `executable`, from its own directory) to its end; kills it and throws
    /// ``WaitTimeout`` when it runs longer than `timeout`. Waiting polls, so it holds no cooperative-pool thread.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], executable: String? = nil, timeout: Duration = .seconds(120)
    ) async throws -> Outcome {
        let directory = executable.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        return try await ChildProcess.run(
            arguments, executable: executable ?? path, environment: environment, workingDirectory: directory
        ) { process in
            let status: Int32
            switch try await process.waitForExit(timeout: timeout) {
            case .exited(let code): status = code
            case .signaled(let signal): status = 128 + signal
            }
            return Outcome(status: status, standardOutput: process.standardOutput, standardError: process.standardError)
        }
    }
}
