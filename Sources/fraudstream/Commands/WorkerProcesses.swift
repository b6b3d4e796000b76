import Foundation
import Synchronization

/// Child `fraudstream worker` processes, as the supervisor (`worker --workers N`) and `load-test` run them.
enum WorkerProcesses {
    /// The environment variable that tells a child which process started it (see ``followParent()``).
    static let parentVariable = "FRAUDSTREAM_PARENT_PID"

    /// Starts this executable with `arguments` (which begin with `worker`).
    /// The environment variable that carries a supervisor slot's lease token to its child.
    static let leaseTokenVariable = "FRAUDSTREAM_LEASE_TOKEN"

    static func start(_ arguments: [String], leaseToken: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment[parentVariable] = String(getpid())
        environment[leaseTokenVariable] = leaseToken
        process.environment = environment
        try process.run()
        return process
    }

    /// In a child started by ``start(_:)``: sends itself SIGTERM when the parent dies (a crash, SIGKILL), so the
    /// child drains and exits instead of running on unsupervised; exits at once when the parent is already gone.
    /// A thread polls `getppid()` once a second (`PR_SET_PDEATHSIG` would fire when the parent's spawning *thread*
    /// ends, and pool threads do end).
    static func followParent() {
        guard let value = ProcessInfo.processInfo.environment[parentVariable], let parent = pid_t(value) else { return }
        if getppid() != parent {
            FileHandle.standardError.write(Data("fraudstream: the process that started this worker (pid \(parent)) is gone; exiting\n".utf8))
            exit(75)
        }
        Thread.detachNewThread {
            while getppid() == parent { sleep(1) }
            FileHandle.standardError.write(Data("fraudstream: the process that started this worker (pid \(parent)) is gone; stopping\n".utf8))
            kill(getpid(), SIGTERM)
        }
    }

    /// Sends `signal` to the children still running.
    static func signal(_ processes: [Process], _ signal: Int32) {
        for process in processes where process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits (polling, off no thread) until every child has exited, or `timeout` passed; returns the
    /// first non-zero exit status, or 0.
    @discardableResult
    static func waitForExit(_ processes: [Process], timeout: Duration? = nil) async -> Int32 {
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        var status: Int32 = 0
        for process in processes {
            while process.isRunning, deadline.map({ clock.now < $0 }) ?? true {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if !process.isRunning && process.terminationStatus != 0 && status == 0 { status = process.terminationStatus }
        }
        return status
    }
}

/// What `load-test` does on SIGINT (Ctrl-C) or SIGTERM: says so, stops the worker processes it started (SIGTERM,
/// so they drain and acknowledge what they read), waits for them, and exits 130 or 143. Without it the signal's
/// default action ended `load-test` silently and left its workers running: `Process` puts each child in a
/// process group of its own, so the terminal's SIGINT never reached them.
final class InterruptionGuard: Sendable {
    private let children = Mutex<[Process]>([])
    /// Kept alive for the life of the command; set once, in the initialiser.
    private nonisolated(unsafe) var sources: [any DispatchSourceSignal] = []
    private let command: String

    /// Handles SIGINT and SIGTERM for `command` from now on.
    init(command: String) {
        self.command = command
        var installed: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in interrupted(by: signalNumber) }
            source.resume()
            installed.append(source)
        }
        sources = installed
    }

    /// Children to stop when interrupted.
    func add(_ process: Process) {
        children.withLock { $0.append(process) }
    }

    private func interrupted(by signalNumber: Int32) {
        let running = children.withLock { $0.filter(\.isRunning) }
        let name = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
        let say = { (line: String) in FileHandle.standardError.write(Data("fraudstream: \(line)\n".utf8)) }
        if running.isEmpty {
            say("\(command) interrupted by \(name)")
        } else {
            say("\(command) interrupted by \(name); stopping its \(running.count) worker process(es) (pids \(running.map { String($0.processIdentifier) }.joined(separator: ", ")))")
            WorkerProcesses.signal(running, SIGTERM)
            let deadline = Date().addingTimeInterval(30)
            while running.contains(where: \.isRunning) && Date() < deadline { usleep(50_000) }
            let left = running.filter(\.isRunning)
            if left.isEmpty {
                say("worker processes stopped; what they read is acknowledged or stays pending for the next worker")
            } else {
                WorkerProcesses.signal(left, SIGKILL)
                say("\(left.count) worker process(es) did not stop within 30 s and were killed; their unacknowledged entries stay pending")
            }
        }
        exit(128 + signalNumber)
    }
}
