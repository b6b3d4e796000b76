import Foundation

/// Where a ``RedisConnection``'s actor runs: its own thread (``ThreadExecutor``) or a NIO event loop
/// (``EventLoopExecutor``).
public protocol ConnectionExecutor: SerialExecutor, TaskExecutor {
    /// `true` when called on the executor's thread.
    var isCurrentThread: Bool { get }
    /// Lets the executor finish its queued jobs and stop (an event loop is its group's to stop).
    func shutdown()
}

/// A serial executor that runs every job on one dedicated OS thread.
///
/// A ``RedisConnection`` uses one as its actor executor, so hiredis's blocking `read`/`write`
/// calls occupy this thread and never one of the cooperative pool's few threads. It is also a
/// `TaskExecutor`: a stage that talks to one connection in a loop can run with this executor as
/// its preference (`withTaskExecutorPreference`), and then calling the connection costs a queue
/// push instead of two thread switches per round trip.
public final class ThreadExecutor: ConnectionExecutor, @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var isStopping = false
    private var threadID: pthread_t?

    /// Starts the thread. `name` shows in debuggers and `top -H`.
    public init(name: String) {
        let threadName = String(name.utf8.prefix(15)) ?? "redis"
        let thread = Thread { [self] in
            // The kernel's name of the thread (what `top -H` and /proc/<pid>/task/*/comm show), at most 15 bytes.
            try? threadName.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            self.condition.lock()
            self.threadID = pthread_self()
            self.condition.broadcast()
            self.condition.unlock()
            self.runJobs()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
        condition.lock()
        while threadID == nil { condition.wait() }
        condition.unlock()
    }

    /// Queues a job for the thread.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// This executor as an unowned reference, for `unownedExecutor`.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// This executor as an unowned task executor, for task executor preference.
    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// `true` when called on this executor's thread.
    public var isCurrentThread: Bool {
        guard let threadID else { return false }
        return pthread_equal(threadID, pthread_self()) != 0
    }

    /// Traps when the caller is not on this executor's thread.
    public func checkIsolated() {
        precondition(isCurrentThread, "expected to run on the \(Thread.current.name ?? "connection") thread")
    }

    /// Lets the thread finish the jobs already queued and exit.
    public func shutdown() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        var batch: [UnownedJob] = []
        while true {
            condition.lock()
            while queue.isEmpty && !isStopping { condition.wait() }
            if queue.isEmpty && isStopping {
                condition.unlock()
                return
            }
            swap(&batch, &queue)
            condition.unlock()
            for job in batch {
                job.runSynchronously(on: asUnownedSerialExecutor())
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
