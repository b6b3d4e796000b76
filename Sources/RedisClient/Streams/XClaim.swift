/// `XCLAIM s g c min-idle id…`: takes over the named pending entries (counting a delivery each).
public struct XClaim: RedisTypedCommand {
    /// The stream.
    public var stream: String
    /// The group.
    public var group: String
    /// The consumer that takes the entries.
    public var consumer: String
    /// Only entries idle at least this long.
    public var minimumIdleMilliseconds: Int
    /// The ids.
    public var ids: [String]

    /// Creates the command.
    public init(stream: String, group: String, consumer: String, minimumIdleMilliseconds: Int, ids: [String]) {
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.minimumIdleMilliseconds = minimumIdleMilliseconds
        self.ids = ids
    }

    /// The claimed entries; an entry deleted from the stream comes back with no fields.
    public typealias Response = [StreamEntry]

    public var command: RedisCommand {
        var command = RedisCommand("XCLAIM", stream, group, consumer, minimumIdleMilliseconds)
        for id in ids { command.append(id) }
        return command
    }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        guard let elements = reply.array else { throw unexpected(reply) }
        return elements.compactMap(StreamEntry.init(resp:))
    }
}
