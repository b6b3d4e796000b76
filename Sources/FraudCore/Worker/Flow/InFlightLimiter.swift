/// Bounds how many batches are between reading and acknowledging.
///
/// The batcher takes a permit before it reads a batch and the batch completion gives it back after the
/// acknowledgement, so a slow stage or a slow Redis stops reading instead of growing memory.
/// A waiting ``acquire()`` ends with `CancellationError` when its task is cancelled.
public actor InFlightLimiter {
    /// Permits in all.
    public let capacity: Int
    /// Permits held now.
    public private(set) var inFlight = 0
    /// The most ever held at once (tests assert it never exceeds ``capacity``).
    public private(set) var highWaterMark = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextWaiterId: UInt64 = 0

    /// Creates a limiter with `capacity` permits.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Tasks suspended in ``acquire()`` now.
    public var waiterCount: Int { waiters.count }

    /// Takes a permit, waiting while all are held; throws `CancellationError` if cancelled while waiting.
    public func acquire() async throws {
        if inFlight < capacity {
            take()
            return
        }
        try Task.checkCancellation()
        let id = nextWaiterId
        nextWaiterId += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Runs on this actor: either before the cancellation hop below (and sees the flag) or after it.
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// Gives `count` permits back and wakes waiters.
    public func release(_ count: Int = 1) {
        inFlight -= count
        precondition(inFlight >= 0, "released more permits than acquired")
        while inFlight < capacity, !waiters.isEmpty {
            take()
            waiters.removeFirst().continuation.resume()
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }

    private func take() {
        inFlight += 1
        highWaterMark = max(highWaterMark, inFlight)
    }
}
