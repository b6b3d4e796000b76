import Dispatch
import Foundation
import Logging

/// Runs N worker processes (this executable, `worker --workers 1 --consumer-name <base>-<i>`),
/// forwards SIGINT/SIGTERM to them, and waits for all; the exit code is the first non-zero one.
struct WorkerSupervisor {
    let count: Int
    let baseName: String
    let logger: Logger

    func run() async throws -> Int32 {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var arguments = Array(CommandLine.arguments.dropFirst())
        arguments = Self.removing(["--workers", "--consumer-name"], from: arguments)
        var children: [Process] = []
        for index in 1...count {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments + ["--workers", "1", "--consumer-name", "\(baseName)-\(index)"]
            try process.run()
            children.append(process)
            logger.info("started worker process", metadata: ["pid": "\(process.processIdentifier)", "consumer": "\(baseName)-\(index)"])
        }
        // Forward signals instead of dying from them.
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                for child in children where child.isRunning { kill(child.processIdentifier, signalNumber) }
            }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        var exitCode: Int32 = 0
        for child in children {
            while child.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
            if child.terminationStatus != 0 && exitCode == 0 { exitCode = child.terminationStatus }
        }
        return exitCode
    }

    /// Drops `--flag value` and `--flag=value` pairs.
    static func removing(_ flags: [String], from arguments: [String]) -> [String] {
        var result: [String] = []
        var skipNext = false
        for argument in arguments {
            if skipNext {
                skipNext = false
                continue
            }
            if flags.contains(argument) {
                skipNext = true
                continue
            }
            if flags.contains(where: { argument.hasPrefix($0 + "=") }) { continue }
            result.append(argument)
        }
        return result
    }
}
