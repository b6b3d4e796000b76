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
            REDIS_PASSWORD, else the local server that `make redis` starts on 127.0.0.1:6390. A rediss:// URL \
            turns on TLS (--redis-ca, --redis-cert, --redis-key, --redis-tls-server-name). Redis 7.0 or later, \
            or Valkey 7.2 or later (tested on Redis 7.0 and Valkey 8.1).
            """,
        version: "fraudstream \(FraudStreamCommand.version) (commit \(BuildInfo.commit))",
        subcommands: [
            DoctorCommand.self, PrepareCommand.self, TrainCommand.self, WorkerCommand.self, GenerateCommand.self, MonitorCommand.self, LoadTestCommand.self, ModelsCommand.self, ExportFeaturesCommand.self, BenchCommand.self, ServeCommand.self, BlocklistCommand.self, ObservabilityCommand.self, RulesCommand.self, BacktestCommand.self, ReviewCommand.self, LabelsCommand.self, APIKeysCommand.self, AuditCommand.self, ApprovalsCommand.self, FeaturesCommand.self, ArchiveCommand.self, ConsoleCommand.self,
        ]
    )
}

extension FraudStreamCommand {
    /// The release this source tree is; the commit comes from the build (``BuildInfo``).
    static let version = "0.24.0"
}

/// Entry point: runs the parsed command and turns every failure into one readable line and an exit
/// code, in this one place (see ``FraudError/Code`` for the codes).
@main
enum FraudStreamMain {
    static func main() async {
        do {
            try AuditLog.configureRetention(from: ProcessInfo.processInfo.environment)
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

    /// The product's own errors as ``FraudError``, and runtime errors of the system (files, processes)
    /// as a sentence; `nil` for argument-parser errors and exit requests, which keep its usage hint.
    static func failure(for error: any Error) -> FraudError? {
        switch error {
        case let error as FraudError: return error
        case let error as RedisError where error.code == .invalidConfiguration: return FraudError(.invalidSetting, error.message)
        case let error as RedisError: return FraudError(redis: error)
        case let error as CocoaError: return FraudError(.invalidData, sentence(for: error))
        default:
            switch FraudStreamCommand.exitCode(for: error) {
            case .success, .validationFailure: return nil  // help, version, bad flags: argument-parser says it
            default:
                if error is ExitCode || error is CleanExit { return nil }
                return FraudError(.failedCheck, String(describing: error))
            }
        }
    }

    /// A file error as people read it: what, where, and why, without the NSError dump.
    static func sentence(for error: CocoaError) -> String {
        let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? error.userInfo[NSURLErrorKey].map { "\($0)" }
        let reason: String
        switch error.code {
        case .fileReadNoSuchFile, .fileNoSuchFile: reason = "no such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
        case .fileWriteOutOfSpace: reason = "no space left on the device"
        case .fileReadCorruptFile: reason = "the file is not in the expected format"
        default: reason = error.localizedDescription
        }
        let action = (512..<1024).contains(error.code.rawValue) ? "cannot write" : "cannot read"  // NSFileWrite… codes
        return path.map { "\(action) \($0): \(reason)" } ?? "\(action) a file: \(reason)"
    }

    static func fail(_ line: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        exit(code)
    }
}
