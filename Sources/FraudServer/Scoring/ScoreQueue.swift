import FraudCore
import Synchronization

/// The bounded queue between request handlers and the scoring lanes.
///
/// Admission is all-or-nothing per request (a batch request of 500 transactions needs 500 places): when
/// the requests admitted and not yet finished would pass the ``AdmissionLimit`` (what the lanes can decide within
/// the deadline, at most ``capacity``), ``submit(_:)`` refuses and the handler answers `503` with `Retry-After`.
/// Each transaction goes to the lane of its user (a stable hash), so one user's transactions are featurized
/// on one connection in arrival order. A lane takes everything waiting for it, up to a batch, in one
/// ``next(lane:maximum:)``: requests that arrive while a round trip is under way form the next batch.
final class ScoreQueue: Sendable {
    /// Most transactions admitted and not yet finished.
    let capacity: Int
    /// Number of lanes.
    let laneCount: Int

    private struct State {
        var queues: [[PendingDecision]]
        var waiters: [CheckedContinuation<Void, Never>?]
        var admitted = 0
        var closed = false
        var limit: AdmissionLimit
    }

    private let state: Mutex<State>

    /// Input partitions (``UserRoute``: a lane is chosen within a user's partition, as the worker's fetchers are).
    let partitions: Int

    /// Creates a queue for `lanes` lanes admitting at most `capacity` transactions at once.
    init(capacity: Int, lanes: Int, partitions: Int = 1, batchSize: Int = 128, deadlineMilliseconds: Int = 20) {
        self.capacity = capacity
        self.laneCount = lanes
        self.partitions = partitions
        state = Mutex(State(
            queues: Array(repeating: [], count: lanes), waiters: Array(repeating: nil, count: lanes),
            limit: AdmissionLimit(ceiling: capacity, lanes: lanes, batchSize: batchSize, deadlineMilliseconds: deadlineMilliseconds)))
    }

    /// The lane of a user.
    func lane(of userId: String) -> Int {
        UserRoute.connection(of: userId, count: laneCount, partitions: partitions)
    }

    /// Admits all of `pending` or none; `false` when full or closed.
    func submit(_ pending: [PendingDecision]) -> Bool {
        let lanes = pending.map { lane(of: $0.transaction.userId) }
        let woken: [CheckedContinuation<Void, Never>]? = state.withLock { state in
            // Within the learned bound; and an idle server takes any request up to the ceiling (a batch request larger
            // than the bound must not wait for a bound that only grows under traffic).
            let fits = state.admitted + pending.count <= state.limit.value || (state.admitted == 0 && pending.count <= capacity)
            guard !state.closed, fits else { return nil }
            state.admitted += pending.count
            var woken: [CheckedContinuation<Void, Never>] = []
            for (item, lane) in zip(pending, lanes) {
                state.queues[lane].append(item)
                if let waiter = state.waiters[lane] {
                    woken.append(waiter)
                    state.waiters[lane] = nil
                }
            }
            return woken
        }
        guard let woken else { return false }
        for waiter in woken { waiter.resume() }
        return true
    }

    /// Up to `maximum` transactions for `lane`, waiting until there is one; empty once closed and drained.
    nonisolated(nonsending) func next(lane: Int, maximum: Int) async -> [PendingDecision] {
        while true {
            let taken: [PendingDecision]? = state.withLock { state in
                let queue = state.queues[lane]
                if queue.isEmpty { return state.closed ? [] : nil }
                let count = min(maximum, queue.count)
                state.queues[lane] = Array(queue.dropFirst(count))
                return Array(queue.prefix(count))
            }
            if let taken { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if !state.queues[lane].isEmpty || state.closed { return true }
                    state.waiters[lane] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Releases the places of `count` finished transactions, and learns from the batch (``AdmissionLimit``): how long
    /// its oldest transaction waited in the queue, and how long the batch itself took.
    func finish(_ count: Int, queuedMicroseconds: Int64 = 0, serviceMicroseconds: Int64 = 0) {
        state.withLock { state in
            state.admitted -= count
            state.limit.learn(queuedMicroseconds: queuedMicroseconds, serviceMicroseconds: serviceMicroseconds, admitted: state.admitted)
        }
    }

    /// The admission bound now.
    var admissionLimit: Int { state.withLock { $0.limit.value } }

    /// Transactions admitted and not yet finished.
    var depth: Int { state.withLock { $0.admitted } }

    /// Stops admitting; lanes drain what is queued and then get an empty batch.
    func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            let waiters = state.waiters.compactMap { $0 }
            state.waiters = Array(repeating: nil, count: state.waiters.count)
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
