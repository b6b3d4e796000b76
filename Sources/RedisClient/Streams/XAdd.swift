/// `XADD s [MAXLEN ~ n] id f v …`: appends an entry.
public struct XAdd: RedisTypedCommand {
    /// The stream.
    public var stream: String
    /// Approximate cap (`MAXLEN ~`); `nil` for none.
    public var approximateMaximumLength: Int?
    /// The id, `*` for Redis's clock.
    public var id: String
    /// The fields in order.
    public var fields: [(String, String)]

    /// Creates the command.
    public init(stream: String, approximateMaximumLength: Int? = nil, id: String = "*", fields: [(String, String)]) {
        self.stream = stream
        self.approximateMaximumLength = approximateMaximumLength
        self.id = id
        self.fields = fields
    }

    /// The new entry's id.
    public typealias Response = String

    public var command: RedisCommand {
        var command = RedisCommand("XADD", stream)
        if let approximateMaximumLength {
            command.append("MAXLEN")
            command.append("~")
            command.append(approximateMaximumLength)
        }
        command.append(id)
        for (name, value) in fields {
            command.append(name)
            command.append(value)
        }
        return command
    }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        guard let id = reply.string else { throw unexpected(reply) }
        return id
    }
}
