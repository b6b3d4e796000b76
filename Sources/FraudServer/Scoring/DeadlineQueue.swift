import Synchronization

/// The requests waiting for a decision, in deadline order, and the one loop that answers those still
/// waiting at their deadline.
///
/// Every request's deadline is its arrival plus the same `--deadline-ms`, so arrival order is deadline
/// order and one sweeper serves them all, instead of one timer task per request (whose start and cancellation
/// cost two thread wake-ups per request). While requests keep arriving it sleeps until the first deadline still
/// open, without being woken by them, and answers what is due within half a ``sweepInterval`` of its deadline;
/// after a second without requests it waits to be woken by the next one.
final class DeadlineQueue: Sendable {
    /// Twice how early a deadline may be answered: a tenth of the deadline, at least 1 ms.
    let sweepInterval: Duration
    /// Without requests for this long, the sweeper stops ticking.
    static let idleAfter: Duration = .seconds(1)
    /// The longest sleep with nothing open, so ``close()`` ends ``run(expire:)`` soon.
    static let closeCheck: Duration = .milliseconds(100)

    /// Creates a queue for requests with a deadline of `deadlineMilliseconds`.
    init(deadlineMilliseconds: Int) {
        sweepInterval = .microseconds(max(1_000, deadlineMilliseconds * 100))
        deadline = .milliseconds(deadlineMilliseconds)
    }

    /// The deadline every request has.
    let deadline: Duration

    private struct State {
        var items: [(deadline: ContinuousClock.Instant, pending: PendingDecision)] = []
        var head = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
        var lastAdded = ContinuousClock.now

        /// Drops answered items at the head; the first unanswered deadline, if any.
        mutating func firstOpenDeadline() -> ContinuousClock.Instant? {
            while head < items.count && items[head].pending.isAnswered { head += 1 }
            if head > 1_024 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return head < items.count ? items[head].deadline : nil
        }
    }

    private let state = Mutex(State())

    /// Adds requests whose deadline is `deadline`.
    func add(_ pending: [PendingDecision], deadline: ContinuousClock.Instant) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            for item in pending { state.items.append((deadline, item)) }
            state.lastAdded = .now
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Ends ``run(expire:)`` once nothing is left waiting.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Answers, with `expire`, every request still waiting at its deadline; returns when closed and empty,
    /// or when cancelled.
    func run(expire: (PendingDecision) async -> Void) async {
        let clock = ContinuousClock()
        let early = sweepInterval / 2
        while !Task.isCancelled {
            let (next, lastAdded) = state.withLock { ($0.firstOpenDeadline(), $0.lastAdded) }
            if next == nil && clock.now - lastAdded > Self.idleAfter {
                if await waitForWork() { return }
                continue
            }
            if next == nil && state.withLock({ $0.closed }) { return }
            // Asleep until the first open deadline (a little early, for the wake-up's lateness), or for one whole
            // deadline when nothing is open (at most 100 ms, so a close is seen soon with a long --deadline-ms): a
            // request added meanwhile is due no earlier. Requests answered in time cost the sweeper nothing; it wakes
            // about once per deadline, not once per request or per tick.
            let wake = next.map { $0 - early } ?? clock.now + min(deadline, Self.closeCheck)
            if wake > clock.now {
                do { try await Task.sleep(until: wake, tolerance: early, clock: clock) } catch { return }
            }
            let now = clock.now
            let due = state.withLock { state -> [PendingDecision] in
                var due: [PendingDecision] = []
                while state.head < state.items.count && state.items[state.head].deadline - early <= now {
                    let item = state.items[state.head].pending
                    if !item.isAnswered { due.append(item) }
                    state.head += 1
                }
                return due
            }
            for item in due { await expire(item) }
        }
    }

    /// Waits until something is added or the queue is closed; `true` when closed with nothing left.
    private func waitForWork() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.closed || state.firstOpenDeadline() != nil { return true }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
        return state.withLock { $0.closed && $0.firstOpenDeadline() == nil }
    }
}
