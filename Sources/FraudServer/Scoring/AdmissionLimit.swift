/// How many transactions the server admits at once: what its lanes can decide within the deadline, learned from
/// the batches they finish. Past it a request gets `503` with `Retry-After`, so an overloaded server refuses work it
/// could only answer degraded, and a client can retry elsewhere; degraded answers stay for a slow or absent Redis.
///
/// After each batch a lane reports how long its oldest transaction waited in the queue and how long the batch took:
/// - a batch that took the whole deadline or more: Redis is slow or away; the limit stays (those requests are
///   answered degraded at their deadline, which is what degraded answers are for);
/// - otherwise, waited and took together more than half the deadline: the server itself is the bottleneck; the limit
///   shrinks by a quarter (at most once per deadline, so it does not collapse on one burst), down to one transaction
///   per lane;
/// - together less than a quarter of the deadline while the admitted transactions are near the limit: it grows by a
///   batch, up to `--max-in-flight`.
struct AdmissionLimit: Sendable {
    /// The bound never passed (`--max-in-flight`).
    let ceiling: Int
    /// The bound never gone under: one transaction per lane.
    let floor: Int
    /// The step up.
    let step: Int
    /// The deadline, µs.
    let deadlineMicroseconds: Int64
    /// The bound now.
    private(set) var value: Int
    private var lastDecrease: ContinuousClock.Instant?

    init(ceiling: Int, lanes: Int, batchSize: Int, deadlineMilliseconds: Int) {
        self.ceiling = max(1, ceiling)
        floor = min(self.ceiling, max(1, lanes))
        step = max(1, batchSize)
        deadlineMicroseconds = Int64(deadlineMilliseconds) * 1_000
        // It starts at a batch per lane and learns from there.
        value = min(self.ceiling, max(1, lanes * batchSize))
    }

    /// Learns from a finished batch: its oldest transaction's wait in the queue, the batch's own time, and how many
    /// transactions were admitted when it finished.
    mutating func learn(queuedMicroseconds: Int64, serviceMicroseconds: Int64, admitted: Int, now: ContinuousClock.Instant = .now) {
        if serviceMicroseconds >= deadlineMicroseconds { return }
        let total = queuedMicroseconds + serviceMicroseconds
        if total > deadlineMicroseconds / 2 {
            if let lastDecrease, now - lastDecrease < .microseconds(deadlineMicroseconds) { return }
            value = Swift.max(floor, value * 3 / 4)
            lastDecrease = now
        } else if total < deadlineMicroseconds / 4 && admitted + step > value * 3 / 4 {
            value = Swift.min(ceiling, value + step)
        }
    }
}
