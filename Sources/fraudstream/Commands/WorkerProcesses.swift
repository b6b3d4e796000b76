import Foundation

/// Child `fraudstream worker` processes, as the supervisor (`worker --workers N`) and `load-test` run them.
enum WorkerProcesses {
    /// Starts this executable with `arguments` (which begin with `worker`).
    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        try process.run()
        return process
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
