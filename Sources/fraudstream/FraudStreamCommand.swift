import ArgumentParser
import Foundation
import FraudCore
import RedisClient

/// The `fraudstream` command line: one executable, one subcommand per job.
struct FraudStreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fraudstream",
        abstract: "Real-time fraud scoring on Redis Streams.",
        discussion: """
            Redis settings come from --redis-url, else REDIS_URL, else REDIS_HOST / REDIS_PORT / \
            REDIS_PASSWORD, else the local server that `make redis` starts on 127.0.0.1:6390.
            """,
        subcommands: [
            DoctorCommand.self, PrepareCommand.self, WorkerCommand.self, GenerateCommand.self, MonitorCommand.self, LoadTestCommand.self, ModelsCommand.self, ExportFeaturesCommand.self, BenchCommand.self,
        ]
    )
}

/// Entry point: runs the parsed command and turns every failure into one readable line and an exit
/// code, in this one place (see ``FraudError/Code`` for the codes).
@main
enum FraudStreamMain {
    static func main() async {
        do {
            var command = try FraudStreamCommand.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if let failure = failure(for: error) { fail("fraudstream: \(failure.message)", code: failure.exitCode) }
            let code = FraudStreamCommand.exitCode(for: error)
            if code == .success {
                print(FraudStreamCommand.fullMessage(for: error))
                exit(0)
            }
            let message = FraudStreamCommand.message(for: error)
            if message.isEmpty { exit(code.rawValue) }
            let firstLine = message.split(separator: "\n").first.map(String.init) ?? message
            fail("fraudstream: \(firstLine) (see 'fraudstream --help')", code: code.rawValue)
        }
    }

    /// The product's own errors as ``FraudError``; `nil` for argument-parser errors and exit requests.
    static func failure(for error: any Error) -> FraudError? {
        switch error {
        case let error as FraudError: return error
        case let error as RedisError where error.code == .invalidConfiguration: return FraudError(.invalidSetting, error.message)
        case let error as RedisError: return FraudError(redis: error)
        default: return nil
        }
    }

    static func fail(_ line: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        exit(code)
    }
}
