/// Decides, read by read, when a batch is complete: by size (`--batch-size`) or by time (`--linger-ms`).
///
/// A value type with explicit transitions, tested without Redis. The batcher asks it what to do
/// after each read; a linger is implemented as a shorter `XREADGROUP … BLOCK`, so waiting for more
/// entries costs no timer task and returns the moment they arrive.
public struct BatchingState: Sendable, Equatable {
    /// Largest batch.
    public let batchSize: Int
    /// How long a partial batch may wait for more, from its first entry.
    public let lingerMilliseconds: Int
    /// `BLOCK` of a read while the batch is still empty.
    public let idleBlockMilliseconds: Int
    /// Entries collected so far.
    public private(set) var collected = 0
    private var firstEntryAtMilliseconds: Int64?

    /// What the consumer should do next.
    public enum Action: Sendable, Equatable {
        /// Read up to `count` entries, blocking at most `blockMilliseconds`.
        case read(count: Int, blockMilliseconds: Int)
        /// Hand the collected entries on as one batch.
        case emit
    }

    /// Creates the state for a new batch.
    public init(batchSize: Int, lingerMilliseconds: Int, idleBlockMilliseconds: Int) {
        self.batchSize = max(1, batchSize)
        self.lingerMilliseconds = max(0, lingerMilliseconds)
        self.idleBlockMilliseconds = max(1, idleBlockMilliseconds)
    }

    /// The first read of a batch.
    public var firstAction: Action { .read(count: batchSize, blockMilliseconds: idleBlockMilliseconds) }

    /// Records a read that returned `count` entries at `now` and says what comes next.
    public mutating func received(_ count: Int, nowMilliseconds now: Int64) -> Action {
        collected += count
        if collected == 0 { return firstAction }
        if firstEntryAtMilliseconds == nil { firstEntryAtMilliseconds = now }
        if collected >= batchSize { return .emit }
        let remaining = Int64(lingerMilliseconds) - (now - (firstEntryAtMilliseconds ?? now))
        if remaining <= 0 { return .emit }
        return .read(count: batchSize - collected, blockMilliseconds: Int(remaining))
    }
}
