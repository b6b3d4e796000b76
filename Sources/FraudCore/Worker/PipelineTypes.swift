import RedisClient

/// One entry read from the input stream.
public struct StreamEntry: Sendable {
    /// The entry id (`<ms>-<seq>`), Redis's append time.
    public var id: String
    /// The fields in stream order; empty when the entry was deleted while pending.
    public var fields: [(String, String)]
    /// How often this entry has been delivered, when known (claims); 1 for fresh reads.
    public var deliveries: Int

    /// Creates an entry.
    public init(id: String, fields: [(String, String)], deliveries: Int = 1) {
        self.id = id
        self.fields = fields
        self.deliveries = deliveries
    }

    /// Parses the entries of an `XREADGROUP`/`XCLAIM` reply: `[[id, [f, v, …]], …]`.
    static func parseList(_ reply: [RESPValue]) -> [StreamEntry] {
        reply.compactMap { element -> StreamEntry? in
            guard let parts = element.array, parts.count == 2, let id = parts[0].string else { return nil }
            var fields: [(String, String)] = []
            if let flat = parts[1].array {
                fields.reserveCapacity(flat.count / 2)
                var index = 0
                while index + 1 < flat.count {
                    fields.append((flat[index].string ?? "", flat[index + 1].string ?? ""))
                    index += 2
                }
            }
            return StreamEntry(id: id, fields: fields)
        }
    }
}

/// Entries from one read; it holds one in-flight permit until its batch is acknowledged.
struct ReadChunk: Sendable {
    var entries: [StreamEntry]
    var readAt: ContinuousClock.Instant
}

/// A transaction to score with its stream entry id.
public struct BatchItem: Sendable {
    /// The input entry id.
    public var sourceId: String
    /// The parsed transaction.
    public var transaction: Transaction
}

/// An entry that goes to the dead-letter stream.
public struct DeadLetter: Sendable {
    /// The input entry id.
    public var sourceId: String
    /// Why.
    public var reason: String
    /// The run it belonged to, when its fields say.
    public var runId: String
    /// The original fields.
    public var fields: [(String, String)]
}

/// A unit of work flowing through the stages: one read, hence one in-flight permit.
public struct Batch: Sendable {
    /// Increasing number, for logs.
    public var sequence: Int
    /// Valid transactions, in stream order.
    public var items: [BatchItem]
    /// Entries to dead-letter.
    public var deadLetters: [DeadLetter]
    /// When its first entry was read.
    public var readAt: ContinuousClock.Instant
    /// When it left the batcher.
    public var dispatchedAt: ContinuousClock.Instant
    /// Feature vectors, one per item (set by the feature stage).
    public var vectors: [[Double]] = []
    /// Scores and decisions, one per item (set by the scorer).
    public var decisions: [ScoredDecision] = []
    /// Time spent per stage, for statistics.
    public var timings = StageTimings()

    /// Number of entries (valid and dead-lettered).
    public var entryCount: Int { items.count + deadLetters.count }
}

/// Per-batch stage durations in microseconds.
public struct StageTimings: Sendable {
    /// Read to dispatch, plus waits in channels before features.
    public var queueMicroseconds: Int64 = 0
    /// Feature round trip.
    public var featuresMicroseconds: Int64 = 0
    /// Model and rules for the whole batch.
    public var scoringMicroseconds: Int64 = 0
    /// The write-and-acknowledge call.
    public var writeMicroseconds: Int64 = 0
}

/// The model's verdict on one transaction.
public struct ScoredDecision: Sendable, Equatable {
    /// Fraud probability 0…1.
    public var score: Double
    /// `score >= threshold`.
    public var isFraud: Bool
    /// `approve`, `review` or `decline`.
    public var decision: String
    /// Comma-separated reason codes.
    public var reasons: String
    /// The model version that scored it.
    public var modelVersion: Int
}
