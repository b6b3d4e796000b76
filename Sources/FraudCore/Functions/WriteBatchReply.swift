/// What `fs_write_batch` did with a batch (see ``WriteBatchCall/Reply``).
public struct WriteBatchReply: Sendable, Equatable {
    /// Results written and acknowledged.
    public var written: Int
    /// Dead letters written and acknowledged.
    public var deadLettered: Int
    /// Per result, in order: end-to-end latency in µs on Redis's clock, or -1 when this consumer no longer
    /// owned the entry and it was skipped.
    public var latenciesMicroseconds: [Int64]
}
