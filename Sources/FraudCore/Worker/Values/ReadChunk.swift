/// Entries from one read; it holds one in-flight permit until its batch is acknowledged.
struct ReadChunk: Sendable {
    var entries: [StreamEntry]
    var readAt: ContinuousClock.Instant
}
