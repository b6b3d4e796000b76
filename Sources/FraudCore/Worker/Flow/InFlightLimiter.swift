/// Bounds how many batches are between reading and acknowledging.
///
/// The consumer takes a permit before each read and the result writer gives it back after the
/// acknowledgement, so a slow stage or a slow Redis stops reading instead of growing memory.
public actor InFlightLimiter {
    /// Permits in all.
    public let capacity: Int
    /// Permits held now.
    public private(set) var inFlight = 0
    /// The most ever held at once (tests assert it never exceeds ``capacity``).
    public private(set) var highWaterMark = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// Acquirers suspended until a permit comes back.
    public var waiterCount: Int { waiters.count }

    /// Creates a limiter with `capacity` permits.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Takes a permit, waiting while all are held.
    public func acquire() async {
        if inFlight < capacity {
            take()
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Gives `count` permits back and wakes waiters.
    public func release(_ count: Int = 1) {
        inFlight -= count
        precondition(inFlight >= 0, "released more permits than acquired")
        while inFlight < capacity, !waiters.isEmpty {
            take()
            waiters.removeFirst().resume()
        }
    }

    private func take() {
        inFlight += 1
        highWaterMark = max(highWaterMark, inFlight)
    }
}
