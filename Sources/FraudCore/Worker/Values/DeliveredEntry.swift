import RedisClient

/// An input entry as the consumer hands it to the batcher: the stream entry and how often the
/// group has delivered it (1 for a fresh read; more for entries recovered or claimed after a crash).
public struct DeliveredEntry: Sendable {
    /// The entry id (`<ms>-<seq>`), Redis's append time.
    public var id: String
    /// The fields in stream order; empty when the entry was deleted while pending.
    public var fields: [(String, String)]
    /// How often this entry has been delivered, counting this delivery.
    public var deliveries: Int
    /// Fields whose values were not valid UTF-8 (``StreamEntry/invalidUTF8Fields``).
    public var invalidUTF8Fields: [String] = []

    /// Wraps a stream entry.
    public init(_ entry: StreamEntry, deliveries: Int = 1) {
        self.id = entry.id
        self.fields = entry.fields
        self.deliveries = deliveries
        self.invalidUTF8Fields = entry.invalidUTF8Fields
    }

    /// Creates an entry from its parts.
    public init(id: String, fields: [(String, String)], deliveries: Int = 1) {
        self.id = id
        self.fields = fields
        self.deliveries = deliveries
    }
}
