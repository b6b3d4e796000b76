/// A unit of work flowing through the stages: one read, hence one in-flight permit.
public struct Batch: Sendable {
    /// Increasing number, for logs.
    public var sequence: Int
    /// Valid transactions, in stream order.
    public var items: [BatchItem]
    /// Entries to dead-letter.
    public var deadLetters: [DeadLetter]
    /// Entries of transactions an earlier arrival decided (``DecisionClaim``): acknowledged without a result.
    public var duplicates: [String] = []
    /// When its first entry was read.
    public var readAt: ContinuousClock.Instant
    /// When it left the batcher.
    public var dispatchedAt: ContinuousClock.Instant
    /// Feature vectors, one per item (set by the feature stage).
    public var vectors: [[Double]] = []
    /// The feature set's features the vectors carry after the built-in ones (the set of the extractor that computed them).
    public var featureNames: [String] = []
    /// Scores and decisions, one per item (set by the scorer).
    public var decisions: [ScoredDecision] = []
    /// Time spent per stage, for statistics.
    public var timings = StageTimings()

    /// Number of entries (valid and dead-lettered).
    public var entryCount: Int { items.count + deadLetters.count + duplicates.count }
}
