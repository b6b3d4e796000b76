/// `XINFO GROUPS s`: the consumer groups of a stream.
public struct XInfoGroups: RedisTypedCommand {
    /// The stream.
    public var stream: String

    /// Creates the command.
    public init(stream: String) { self.stream = stream }

    /// One group.
    public struct Group: Sendable, Equatable {
        /// The group name.
        public var name: String
        /// Consumers in the group.
        public var consumers: Int
        /// Entries delivered and not acknowledged.
        public var pending: Int
        /// The last id delivered to any consumer of the group.
        public var lastDeliveredId: String
        /// Entries the group has read (Redis 7.0+), when known.
        public var entriesRead: Int?
        /// Entries not yet delivered to the group (Redis 7.0+), when Redis can tell.
        public var lag: Int?
    }

    /// The groups.
    public typealias Response = [Group]

    public var command: RedisCommand { RedisCommand("XINFO", "GROUPS", stream) }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        guard let elements = reply.array else { throw unexpected(reply) }
        return try elements.map { element throws(RedisError) -> Group in
            guard let fields = element.fieldMap else { throw unexpected(reply) }
            guard let name = fields["name"]?.string, let delivered = fields["last-delivered-id"]?.string else {
                throw unexpected(reply)
            }
            return Group(
                name: name, consumers: fields["consumers"]?.int ?? 0, pending: fields["pending"]?.int ?? 0,
                lastDeliveredId: delivered, entriesRead: fields["entries-read"]?.int, lag: fields["lag"]?.int)
        }
    }
}
