import Dispatch
import FraudCore
import Foundation
import Logging
import RedisClient
import Synchronization

/// Runs N worker processes (this executable, `worker --workers 1 --consumer-name <base>-<i>`),
/// forwards SIGINT/SIGTERM to them, and waits for all.
///
/// A child that dies before shutdown (a crash, `kill -9`) is logged with its cause and, unless
/// `--no-restart-children`, started again with backoff (0.5 s doubling to 10 s; the backoff starts
/// over once a child has run for a minute). After five quick deaths in a row the supervisor gives
/// that slot up; its exit code is then non-zero. A clean shutdown exits 0.
struct WorkerSupervisor {
    let count: Int
    let baseName: String
    let restartChildren: Bool
    /// The metrics port given to the supervisor: child i listens on port + i - 1 (0: each picks a free one).
    let metricsPort: Int?
    let logger: Logger

    /// Restarts of one slot: five tries, half a second doubling to ten.
    static let restartPolicy = RetryPolicy(
        maximumAttempts: 5, initialBackoffMilliseconds: 500, maximumBackoffMilliseconds: 10_000, jitter: false)
    /// A child that ran this long died of something new: its next restart starts the backoff over.
    static let healthyRun: Duration = .seconds(60)

    /// The children now running, by slot, and whether shutdown began; shared with the signal handlers.
    final class Children: Sendable {
        private let state = Mutex<(processes: [Int: Process], shuttingDown: Bool)>(([:], false))

        var shuttingDown: Bool { state.withLock { $0.shuttingDown } }

        func set(_ slot: Int, _ process: Process) {
            state.withLock { $0.processes[slot] = process }
        }

        /// Marks shutdown and forwards `signal` to every running child.
        func shutDown(forwarding signal: Int32) {
            let running = state.withLock { state -> [Process] in
                state.shuttingDown = true
                return Array(state.processes.values)
            }
            WorkerProcesses.signal(running, signal)
        }
    }

    func run() async throws -> Int32 {
        var arguments = Array(CommandLine.arguments.dropFirst())
        arguments = Self.removing(["--workers", "--consumer-name", "--metrics-port"], from: arguments)
        let children = Children()
        // Forward signals instead of dying from them.
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { children.shutDown(forwarding: signalNumber) }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        return try await withThrowingTaskGroup(of: Int32.self) { group in
            for slot in 1...count {
                let name = "\(baseName)-\(slot)"
                var childArguments = arguments + ["--workers", "1", "--consumer-name", name]
                // Each child listens on its own port: the first on the given one, the next on the one after, …
                if let metricsPort { childArguments += ["--metrics-port", String(metricsPort == 0 ? 0 : metricsPort + slot - 1)] }
                group.addTask { try await supervise(slot: slot, name: name, arguments: childArguments, children: children) }
            }
            var status: Int32 = 0
            for try await code in group where code != 0 && status == 0 { status = code }
            return status
        }
    }

    /// Runs one slot until shutdown, restarting its child when it dies; returns the slot's exit status.
    private func supervise(slot: Int, name: String, arguments: [String], children: Children) async throws -> Int32 {
        var restarts = RetryState(policy: Self.restartPolicy)
        let clock = ContinuousClock()
        // One lease token per slot: a child restarted after a crash holds its predecessor's lease at once.
        let leaseToken = ConsumerLease.makeToken()
        while true {
            let process = try WorkerProcesses.start(arguments, leaseToken: leaseToken)
            children.set(slot, process)
            if children.shuttingDown { WorkerProcesses.signal([process], SIGTERM) }  // a signal raced the start
            logger.info("started worker process", metadata: ["pid": "\(process.processIdentifier)", "consumer": "\(name)"])
            let started = clock.now
            await WorkerProcesses.waitForExit([process])
            let signalled = process.terminationReason == .uncaughtSignal
            let status = process.terminationStatus
            if children.shuttingDown {
                // A child still starting when the forwarded signal came dies of it: that is the shutdown asked for.
                return signalled && (status == SIGTERM || status == SIGINT) ? 0 : (signalled ? 128 + status : status)
            }
            if !signalled && status == 0 { return 0 }
            let cause = signalled ? "was killed by signal \(status)" : "exited with status \(status)"
            let failure: Int32 = signalled ? 128 + status : status
            // A child that failed at start on a setting, its data or an unreachable Redis fails the same way again: no
            // restarts, and the others stop too; the child has said why on its own line.
            if !signalled, Self.notFixedByRestarting.contains(status), clock.now - started < Self.healthyRun {
                children.shutDown(forwarding: SIGTERM)
                return failure
            }
            guard restartChildren else {
                logger.error("worker process \(cause); not restarting it (--no-restart-children)", metadata: ["consumer": "\(name)"])
                return failure
            }
            if clock.now - started >= Self.healthyRun { restarts.succeeded() }
            guard case .retry(let milliseconds) = restarts.failed(retryable: true, elapsed: .zero) else {
                logger.critical(
                    "worker process \(cause) \(restarts.failures) times in a row; giving up on it",
                    metadata: ["consumer": "\(name)"])
                return failure
            }
            logger.error("worker process \(cause); restarting it in \(milliseconds) ms", metadata: ["consumer": "\(name)"])
            try? await Task.sleep(for: .milliseconds(milliseconds))
            if children.shuttingDown { return 0 }
        }
    }

    /// Exit codes of problems a restart cannot fix: bad settings (64), bad data (65), missing input such as no model (66),
    /// Redis unreachable (69), live state protected (77).
    static let notFixedByRestarting: Set<Int32> = [64, 65, 66, 69, 77]

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
