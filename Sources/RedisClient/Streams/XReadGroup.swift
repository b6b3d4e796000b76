/// `XREADGROUP GROUP g c COUNT n [BLOCK ms] STREAMS s… id…`: entries for a consumer of a group.
public struct XReadGroup: RedisTypedCommand {
    /// The group.
    public var group: String
    /// This consumer's name.
    public var consumer: String
    /// Most entries per stream.
    public var count: Int
    /// How long to wait for entries; `nil` does not block.
    public var blockMilliseconds: Int?
    /// Streams and the id to read after (`>` for never-delivered entries).
    public var streams: [(stream: String, id: String)]

    /// Creates the command.
    public init(group: String, consumer: String, count: Int, blockMilliseconds: Int?, streams: [(stream: String, id: String)]) {
        self.group = group
        self.consumer = consumer
        self.count = count
        self.blockMilliseconds = blockMilliseconds
        self.streams = streams
    }

    /// The entries per stream, in reply order; empty when the read timed out.
    public typealias Response = [(stream: String, entries: [StreamEntry])]

    public var command: RedisCommand {
        var command = RedisCommand("XREADGROUP", "GROUP", group, consumer, "COUNT", count)
        if let blockMilliseconds {
            command.append("BLOCK")
            command.append(blockMilliseconds)
        }
        command.append("STREAMS")
        for entry in streams { command.append(entry.stream) }
        for entry in streams { command.append(entry.id) }
        return command
    }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        if reply.isNull { return [] }
        guard let streams = reply.array else { throw unexpected(reply) }
        var result: Response = []
        for element in streams {
            guard let parts = element.array, parts.count == 2, let name = parts[0].string else { throw unexpected(reply) }
            result.append((name, StreamEntry.list(parts[1])))
        }
        return result
    }
}
