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
        var arguments = Array(CommandLine.arguments.dropFirst())
        arguments = Self.removing(["--workers", "--consumer-name"], from: arguments)
        var children: [Process] = []
        for index in 1...count {
            let process = try WorkerProcesses.start(arguments + ["--workers", "1", "--consumer-name", "\(baseName)-\(index)"])
            children.append(process)
            logger.info("started worker process", metadata: ["pid": "\(process.processIdentifier)", "consumer": "\(baseName)-\(index)"])
        }
        // Forward signals instead of dying from them.
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { WorkerProcesses.signal(children, signalNumber) }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        return await WorkerProcesses.waitForExit(children)
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
