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

/// Entry point: runs the parsed command and turns every failure into one readable line.
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
        } catch let error as RedisError {
            fail("fraudstream: \(error.message)")
        } catch let error as WorkerError {
            fail("fraudstream: \(error.description)")
        } catch let error as ModelStore.LoadError {
            fail("fraudstream: \(error.description)")
        } catch let error as CommandFailure {
            fail("fraudstream: \(error.message)", code: error.exitCode)
        } catch {
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

    static func fail(_ line: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        exit(code)
    }
}

/// A failure a command reports to the user as one line, with its exit code.
struct CommandFailure: Error {
    /// The line to print.
    var message: String
    /// The process exit code.
    var exitCode: Int32 = 1
}
