/// A batch whose results and dead letters are written and whose entries are acknowledged.
public struct AcknowledgedBatch: Sendable {
    /// The batch, with its stage timings.
    public var batch: Batch
    /// Each item's end-to-end latency in µs on Redis's clock; -1 where this worker no longer owned the entry.
    public var endToEndMicroseconds: [Int64]
}
