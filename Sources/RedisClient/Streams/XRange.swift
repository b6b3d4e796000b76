/// `XRANGE s start end [COUNT n]`, or `XREVRANGE s end start [COUNT n]` when ``reverse`` is set.
public struct XRange: RedisTypedCommand {
    /// The stream.
    public var stream: String
    /// The lower bound (`-`, an id, or `(id` for after it).
    public var start: String
    /// The upper bound (`+`, an id, or `(id`).
    public var end: String
    /// Most entries; `nil` for all.
    public var count: Int?
    /// Newest first (`XREVRANGE`).
    public var reverse: Bool

    /// Creates the command.
    public init(stream: String, start: String = "-", end: String = "+", count: Int? = nil, reverse: Bool = false) {
        self.stream = stream
        self.start = start
        self.end = end
        self.count = count
        self.reverse = reverse
    }

    /// The entries, in the order asked for.
    public typealias Response = [StreamEntry]

    public var command: RedisCommand {
        var command = reverse ? RedisCommand("XREVRANGE", stream, end, start) : RedisCommand("XRANGE", stream, start, end)
        if let count {
            command.append("COUNT")
            command.append(count)
        }
        return command
    }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        guard reply.array != nil else { throw unexpected(reply) }
        return StreamEntry.list(reply)
    }
}
