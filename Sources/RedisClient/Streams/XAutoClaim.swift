/// `XAUTOCLAIM s g c min-idle start COUNT n`: takes over entries idle in any consumer of the group.
public struct XAutoClaim: RedisTypedCommand {
    /// The stream.
    public var stream: String
    /// The group.
    public var group: String
    /// The consumer that takes the entries.
    public var consumer: String
    /// Only entries idle at least this long.
    public var minimumIdleMilliseconds: Int
    /// Where the scan of the pending list starts (`0-0`, then the previous reply's cursor).
    public var start: String
    /// Most entries per call.
    public var count: Int

    /// Creates the command.
    public init(stream: String, group: String, consumer: String, minimumIdleMilliseconds: Int, start: String, count: Int) {
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.minimumIdleMilliseconds = minimumIdleMilliseconds
        self.start = start
        self.count = count
    }

    /// The reply of `XAUTOCLAIM`.
    public struct Response: Sendable {
        /// Where the next call continues (`0-0` once the scan wrapped around).
        public var nextStart: String
        /// The claimed entries.
        public var entries: [StreamEntry]
        /// Pending ids whose entries were deleted from the stream (Redis removed them from the pending list).
        public var deletedIds: [String]
    }

    public var command: RedisCommand {
        RedisCommand("XAUTOCLAIM", stream, group, consumer, minimumIdleMilliseconds, start, "COUNT", count)
    }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        guard let parts = reply.array, parts.count >= 2, let next = parts[0].string else { throw unexpected(reply) }
        let deleted = parts.count >= 3 ? (parts[2].array ?? []).compactMap(\.string) : []
        return Response(nextStart: next, entries: StreamEntry.list(parts[1]), deletedIds: deleted)
    }
}
