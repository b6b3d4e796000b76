/// `XINFO CONSUMERS s g`: the consumers of a group, with what each holds and how long it has been idle.
public struct XInfoConsumers: RedisTypedCommand {
    /// The stream.
    public var stream: String
    /// The group.
    public var group: String

    /// Creates the command.
    public init(stream: String, group: String) {
        self.stream = stream
        self.group = group
    }

    /// One consumer.
    public struct Consumer: Sendable, Equatable {
        /// The consumer name.
        public var name: String
        /// Entries delivered to it and not acknowledged.
        public var pending: Int
        /// Milliseconds since it last read, claimed or was created (`idle`).
        public var idleMilliseconds: Int
        /// Milliseconds since its last successful read or claim (`inactive`, Redis 7.2+); `nil` before.
        public var inactiveMilliseconds: Int?

        /// Creates a consumer description.
        public init(name: String, pending: Int, idleMilliseconds: Int, inactiveMilliseconds: Int? = nil) {
            self.name = name
            self.pending = pending
            self.idleMilliseconds = idleMilliseconds
            self.inactiveMilliseconds = inactiveMilliseconds
        }
    }

    /// The consumers, in the order Redis lists them.
    public typealias Response = [Consumer]

    public var command: RedisCommand { RedisCommand("XINFO", "CONSUMERS", stream, group) }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        guard let elements = reply.array else { throw unexpected(reply) }
        return try elements.map { element throws(RedisError) -> Consumer in
            guard let fields = element.fieldMap else { throw unexpected(reply) }
            guard let name = fields["name"]?.string, let pending = fields["pending"]?.int, let idle = fields["idle"]?.int else {
                throw unexpected(reply)
            }
            return Consumer(name: name, pending: pending, idleMilliseconds: idle, inactiveMilliseconds: fields["inactive"]?.int)
        }
    }
}
