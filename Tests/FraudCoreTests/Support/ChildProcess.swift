import Foundation
import FraudServer
import RedisHarness
import Testing

/// A process started in the background (a `fraudstream` worker, supervisor or any command), for tests
/// that signal it and wait for it. Its output goes to files, so a chatty process never blocks on a
/// full pipe; every wait has a deadline.
final class ChildProcess: @unchecked Sendable {
    /// How a process ended.
    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signaled(let signal): "killed by signal \(signal)"
            }
        }
    }

    /// Its process id.
    let pid: pid_t
    private let directory: URL
    private let lock = NSLock()
    private var termination: Termination?

    private init(pid: pid_t, directory: URL) {
        self.pid = pid
        self.directory = directory
    }

    /// Starts `executable` with `arguments`. The environment is this process's without `REDIS_URL`,
    /// plus `environment`. Signal mask and SIGINT/SIGTERM/SIGPIPE dispositions are reset: the test
    /// runner blocks or ignores some, and a child must not inherit that. With `workingDirectory` the
    /// child starts there (through `/bin/sh -c 'cd … && exec …'`) instead of in this process's directory.
    static func start(
        _ arguments: [String], executable: String = FraudStreamBinary.path, environment: [String: String] = [:],
        workingDirectory: String? = nil
    ) throws -> ChildProcess {
        if let workingDirectory {
            return try start(
                ["-c", #"cd "$0" && exec "$@""#, workingDirectory, executable] + arguments, executable: "/bin/sh",
                environment: environment)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fraudstream-child-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "REDIS_URL")
        for (key, value) in environment { merged[key] = value }

        let pid = try ChildSpawner.spawn(
            executable, arguments: arguments, environment: merged,
            standardOutput: directory.appendingPathComponent("stdout").path,
            standardError: directory.appendingPathComponent("stderr").path)
        return ChildProcess(pid: pid, directory: directory)
    }

    /// Starts a process, runs `body`, and kills the process if it still runs afterwards (also when
    /// `body` throws).
    static func run<T>(
        _ arguments: [String], executable: String = FraudStreamBinary.path, environment: [String: String] = [:],
        workingDirectory: String? = nil, _ body: (ChildProcess) async throws -> T
    ) async throws -> T {
        let process = try start(arguments, executable: executable, environment: environment, workingDirectory: workingDirectory)
        defer { process.killAndReap() }
        return try await body(process)
    }

    /// What it wrote to stdout so far.
    var standardOutput: String { read("stdout") }
    /// What it wrote to stderr so far.
    var standardError: String { read("stderr") }

    private func read(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }

    /// Sends a signal to the process alone (not to its process group).
    func send(_ signal: Int32) {
        if !hasExited { kill(pid, signal) }
    }

    /// Whether it has ended; reaps it when it has.
    var hasExited: Bool {
        lock.withLock {
            if termination != nil { return true }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return false }
            ChildSpawner.forget(pid)
            termination = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
            return true
        }
    }

    /// Waits until it ends. At the deadline it kills the process and throws ``WaitTimeout``.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Termination {
        do {
            try await waitUntil("process \(pid) to exit", timeout: timeout) { hasExited }
        } catch {
            killAndReap()
            throw WaitTimeout(description: "\(error); stderr: \(standardError.suffix(2_000))")
        }
        return lock.withLock { termination! }
    }

    /// SIGKILL to it and to its descendants (a supervisor's workers) unless it has ended, then reaps it
    /// and removes its output files.
    func killAndReap() {
        if !hasExited {
            for descendant in Self.descendants(of: pid) { kill(descendant, SIGKILL) }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            if waitpid(pid, &status, 0) == pid {
                ChildSpawner.forget(pid)
                lock.withLock { termination = .signaled(SIGKILL) }
            }
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Processes whose parent is `pid` (from `/proc`).
    static func children(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { candidate in
            guard let stat = statFields(candidate), stat.count > 1 else { return false }
            return pid_t(stat[1]) == pid
        }
    }

    /// Children, grandchildren, … of `pid`.
    static func descendants(of pid: pid_t) -> [pid_t] {
        children(of: pid).flatMap { [$0] + descendants(of: $0) }
    }

    /// Whether `pid` is a live process (neither gone nor a zombie).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = statFields(pid), let state = stat.first else { return false }
        return state != "Z" && state != "X"
    }

    /// The fields of `/proc/<pid>/stat` after the command name: state, ppid, …
    private static func statFields(_ pid: pid_t) -> [String]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")")
        else { return nil }
        return text[text.index(after: close)...].split(separator: " ").map(String.init)
    }
}

extension ChildProcess {
    /// Runs `fraudstream serve` with `arguments` (a Redis URL and its options) on a free port, scores one transaction
    /// with `key` and returns the answer's JSON, then stops the server with SIGTERM and expects a clean exit.
    static func scoreOnceThroughServe(_ arguments: [String], key: String, transactionId: String) async throws -> [String: Any] {
        // Generous deadlines: a busy machine must not turn the answer degraded.
        try await run(["serve", "--port", "0", "--log-level", "error", "--deadline-ms", "20000", "--redis-timeout-ms", "10000"] + arguments) { server in
            try await waitUntil("the server to listen", timeout: .seconds(60)) { server.standardOutput.contains("listening on") }
            let port = try #require(server.standardOutput.firstMatch(of: #/listening on https?://[^:]+:(\d+)/#).flatMap { Int($0.1) })
            let client = try await HTTPConnection.connect(host: "127.0.0.1", port: port, headers: [("Authorization", "Bearer \(key)")])
            let reply = try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction(transactionId, user: 3))
            await client.close()
            #expect(reply.status == 200, "\(reply.text) / \(server.standardError)")
            server.send(SIGTERM)
            #expect(try await server.waitForExit(timeout: .seconds(60)) == .exited(0), "\(server.standardError)")
            return try ScoringAPIHarness.object(reply)
        }
    }
}
