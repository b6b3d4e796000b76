/// `XPENDING s g`: the summary of a group's pending entries.
public struct XPendingSummary: RedisTypedCommand {
    /// The stream.
    public var stream: String
    /// The group.
    public var group: String

    /// Creates the command.
    public init(stream: String, group: String) {
        self.stream = stream
        self.group = group
    }

    /// The summary reply.
    public struct Response: Sendable, Equatable {
        /// Entries delivered and not acknowledged.
        public var count: Int
        /// The smallest and largest pending id; `nil` when nothing is pending.
        public var smallestId: String?
        /// The largest pending id.
        public var largestId: String?
        /// Pending entries per consumer that has any.
        public var consumers: [String: Int]
    }

    public var command: RedisCommand { RedisCommand("XPENDING", stream, group) }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        guard let parts = reply.array, parts.count >= 4, let count = parts[0].int else { throw unexpected(reply) }
        var consumers: [String: Int] = [:]
        for element in parts[3].array ?? [] {
            if let pair = element.array, pair.count == 2, let name = pair[0].string { consumers[name] = pair[1].int ?? 0 }
        }
        return Response(count: count, smallestId: parts[1].string, largestId: parts[2].string, consumers: consumers)
    }
}

/// `XPENDING s g [IDLE ms] start end count [consumer]`: pending entries with their owners and delivery counts.
public struct XPendingRange: RedisTypedCommand {
    /// The stream.
    public var stream: String
    /// The group.
    public var group: String
    /// Only entries idle at least this long; `nil` for all.
    public var minimumIdleMilliseconds: Int?
    /// The first id (`-`, an id, or `(id` for after it).
    public var start: String
    /// The last id (`+` or an id).
    public var end: String
    /// Most entries.
    public var count: Int
    /// Only this consumer's entries; `nil` for every consumer's.
    public var consumer: String?

    /// Creates the command.
    public init(
        stream: String, group: String, minimumIdleMilliseconds: Int? = nil, start: String = "-", end: String = "+", count: Int,
        consumer: String? = nil
    ) {
        self.stream = stream
        self.group = group
        self.minimumIdleMilliseconds = minimumIdleMilliseconds
        self.start = start
        self.end = end
        self.count = count
        self.consumer = consumer
    }

    /// One pending entry.
    public struct PendingEntry: Sendable, Equatable {
        /// The entry id.
        public var id: String
        /// The consumer that holds it.
        public var consumer: String
        /// Milliseconds since it was last delivered.
        public var idleMilliseconds: Int
        /// How often it has been delivered.
        public var deliveries: Int
    }

    /// The entries in id order.
    public typealias Response = [PendingEntry]

    public var command: RedisCommand {
        var command = RedisCommand("XPENDING", stream, group)
        if let minimumIdleMilliseconds {
            command.append("IDLE")
            command.append(minimumIdleMilliseconds)
        }
        command.append(start)
        command.append(end)
        command.append(count)
        if let consumer { command.append(consumer) }
        return command
    }

    public func decode(_ reply: RESPValue) throws(RedisError) -> Response {
        guard let elements = reply.array else { throw unexpected(reply) }
        var result: Response = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard let fields = element.array, fields.count >= 4, let id = fields[0].string, let consumer = fields[1].string,
                let idle = fields[2].int, let deliveries = fields[3].int
            else { throw unexpected(reply) }
            result.append(PendingEntry(id: id, consumer: consumer, idleMilliseconds: idle, deliveries: deliveries))
        }
        return result
    }
}
