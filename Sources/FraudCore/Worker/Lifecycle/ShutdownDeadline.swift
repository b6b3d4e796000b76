import Foundation
import ServiceLifecycle
import Synchronization

/// One deadline for a whole shutdown (`--shutdown-timeout-ms`), shared by every step: the group's drain, then
/// the calls after it (leave the group, release the lease). Each step gets what is left, never a timeout of its
/// own, so a hung Redis cannot stretch a shutdown to the sum of its command timeouts.
///
/// It starts when graceful shutdown begins (``ShutdownDeadline/Marker``, the last service of a group, is told
/// first) or when the group ends for another reason. In a process that owns its exit (`exitCode` set: the
/// `worker` and `serve` commands, never in-process tests), a watchdog thread, off the cooperative pool, ends the
/// process with that code and one line on stderr if it is still running a quarter second past the deadline:
/// the last resort when a step ignores cancellation.
public final class ShutdownDeadline: Sendable {
    /// The whole shutdown's budget.
    public let milliseconds: Int
    /// The process exit code past the deadline, or `nil` to never end the process.
    public let exitCode: Int32?
    /// What shuts down, for the line printed past the deadline ("worker", "scoring API").
    public let what: String
    /// What becomes of unfinished work, for the same line.
    public let leftBehind: String
    private let started = Mutex<ContinuousClock.Instant?>(nil)

    /// Slack after the deadline before the watchdog ends the process.
    static let watchdogSlackMilliseconds = 250

    /// A deadline of `milliseconds` for the shutdown of `what`.
    public init(
        milliseconds: Int, exitCode: Int32? = nil, what: String,
        leftBehind: String = "what was not acknowledged stays pending for another worker to claim"
    ) {
        self.milliseconds = milliseconds
        self.exitCode = exitCode
        self.what = what
        self.leftBehind = leftBehind
    }

    /// How long the group may drain gracefully before it cancels its services: the budget less a reserve for the
    /// calls after it (a fifth, at most a second).
    public var drainMilliseconds: Int { milliseconds - min(1_000, milliseconds / 5) }

    /// Starts the clock (the first call wins) and arms the watchdog when this process owns its exit.
    public func begin() {
        let first = started.withLock { start -> Bool in
            guard start == nil else { return false }
            start = .now
            return true
        }
        guard first, let exitCode else { return }
        let budget = milliseconds, what = self.what, leftBehind = self.leftBehind
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: Double(budget + Self.watchdogSlackMilliseconds) / 1_000)
            let line = "fraudstream: the \(what) did not finish shutting down within --shutdown-timeout-ms \(budget) "
                + "(is Redis answering?); exiting now, and \(leftBehind)\n"
            FileHandle.standardError.write(Data(line.utf8))
            fflush(nil)
            _exit(exitCode)
        }
    }

    /// Time left until the deadline; the whole budget while shutdown has not begun.
    public var remaining: Duration {
        guard let start = started.withLock({ $0 }) else { return .milliseconds(milliseconds) }
        return max(.zero, start + .milliseconds(milliseconds) - .now)
    }

    /// Runs `body` until it finishes or the deadline passes, whichever is first; past the deadline `body` is
    /// cancelled (a Redis call in it is interrupted) and this returns `false`. `body` gets at least the watchdog's
    /// slack, so a drain that used the whole budget still releases what it holds when Redis answers at once.
    @discardableResult
    public func bounded(_ body: @escaping @Sendable () async -> Void) async -> Bool {
        begin()
        let left = max(remaining, .milliseconds(Self.watchdogSlackMilliseconds))
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await body()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: left)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// The service that starts the deadline. Put it last in the group: the group tells the last service first.
    public struct Marker: Service {
        let deadline: ShutdownDeadline

        /// Waits for graceful shutdown (or cancellation), then starts the clock.
        public func run() async {
            try? await gracefulShutdown()
            deadline.begin()
        }
    }

    /// The service that starts this deadline.
    public var marker: Marker { Marker(deadline: self) }
}
