import RedisClient

/// How much work a consumer group has left, computed from stream ids rather than from `XINFO GROUPS`'s
/// `lag`: the entries after the group's `last-delivered-id` (not yet delivered to any consumer) plus the
/// entries delivered and not acknowledged (`XPENDING`).
///
/// Why not `lag`: Redis 7.0 derives it from the group's `entries-read` counter, which an AOF rewrite
/// records but later reads do not (they are logged as `XCLAIM … LASTID` without the counter). After a crash
/// and an AOF reload the counter goes back to its value at the rewrite, so `lag` reports entries that were
/// all acknowledged long ago, and a drain check built on it never finishes. Ids and the pending list are
/// restored exactly.
///
/// Counting entries after an id needs `XRANGE (<id> + COUNT <cap>`, so the count stops at a cap and
/// reads `≥<cap>` then; the usual cases cost nothing extra: a group that has read everything (its
/// `last-delivered-id` is at or past the newest entry) has none, and a group that has read nothing still
/// in the stream (its id is before the oldest entry) has the stream's length.
public struct GroupBacklog: Sendable, Equatable, CustomStringConvertible {
    /// The group.
    public var group: String
    /// The id of the last entry delivered to any of its consumers.
    public var lastDeliveredId: String
    /// Entries after ``lastDeliveredId``; at most the cap when ``undeliveredIsCapped``.
    public var undelivered: Int
    /// The count of undelivered entries reached the cap: there are at least that many.
    public var undeliveredIsCapped: Bool
    /// Entries delivered and not acknowledged.
    public var pending: Int
    /// Consumers in the group.
    public var consumers: Int
    /// What `XINFO GROUPS` calls `lag`, for comparison only (wrong after an AOF reload in Redis 7.0).
    public var reportedLag: Int?

    /// Creates a backlog.
    public init(
        group: String, lastDeliveredId: String, undelivered: Int, undeliveredIsCapped: Bool = false, pending: Int, consumers: Int = 0,
        reportedLag: Int? = nil
    ) {
        self.group = group
        self.lastDeliveredId = lastDeliveredId
        self.undelivered = undelivered
        self.undeliveredIsCapped = undeliveredIsCapped
        self.pending = pending
        self.consumers = consumers
        self.reportedLag = reportedLag
    }

    /// Entries not yet delivered plus entries pending (a lower bound when capped).
    public var total: Int { undelivered + pending }

    /// Nothing left: every entry was delivered and acknowledged.
    public var isDrained: Bool { undelivered == 0 && pending == 0 }

    /// ``total`` for people: `12`, or `≥10020` when the count reached the cap.
    public var totalText: String { undeliveredIsCapped ? "≥\(total)" : "\(total)" }

    /// ``undelivered`` for people: `10`, or `≥10000`.
    public var undeliveredText: String { undeliveredIsCapped ? "≥\(undelivered)" : "\(undelivered)" }

    /// `backlog 12 (undelivered 10, pending 2)`.
    public var description: String { "backlog \(totalText) (undelivered \(undeliveredText), pending \(pending))" }

    /// The default most entries counted after a group's last delivered id.
    public static let defaultCap = 10_000

    /// The backlog of every group of `stream`, in two round trips; `[]` when the stream does not exist.
    public static func measure(
        stream: String, on connection: RedisConnection, cap: Int = defaultCap
    ) async throws(RedisError) -> [GroupBacklog] {
        let groupsCommand = XInfoGroups(stream: stream)
        let oldest = XRange(stream: stream, count: 1)
        let newest = XRange(stream: stream, count: 1, reverse: true)
        let overview = try await connection.pipeline([groupsCommand.command, RedisCommand("XLEN", stream), oldest.command, newest.command])
        let groups: [XInfoGroups.Group]
        do {
            groups = try groupsCommand.decode(slot: overview[0])
        } catch where error.serverErrorPrefix == "ERR" && error.message.contains("no such key") {
            return []
        }
        let length = try overview[1].get().int ?? 0
        let oldestId = try oldest.decode(slot: overview[2]).first.flatMap { StreamID($0.id) }
        let newestId = try newest.decode(slot: overview[3]).first.flatMap { StreamID($0.id) }

        var backlogs: [GroupBacklog] = []
        var commands: [RedisCommand] = []
        var ranges: [Int: XRange] = [:]  // group index → its count of entries after its last delivered id
        for (index, group) in groups.enumerated() {
            let delivered = StreamID(group.lastDeliveredId) ?? StreamID(milliseconds: 0, sequence: 0)
            var undelivered = 0
            if let oldestId, let newestId, delivered < newestId {
                if delivered < oldestId {
                    undelivered = length
                } else {
                    let range = XRange(stream: stream, start: "(" + group.lastDeliveredId, count: max(1, cap))
                    ranges[index] = range
                    commands.append(range.command)
                }
            }
            commands.append(XPendingSummary(stream: stream, group: group.name).command)
            backlogs.append(
                GroupBacklog(
                    group: group.name, lastDeliveredId: group.lastDeliveredId, undelivered: undelivered, pending: 0,
                    consumers: group.consumers, reportedLag: group.lag))
        }
        guard !commands.isEmpty else { return backlogs }
        let replies = try await connection.pipeline(commands)
        var slot = 0
        for index in backlogs.indices {
            if let range = ranges[index] {
                let count = try range.decode(slot: replies[slot]).count
                backlogs[index].undelivered = count
                backlogs[index].undeliveredIsCapped = count >= max(1, cap)
                slot += 1
            }
            backlogs[index].pending = try XPendingSummary(stream: stream, group: backlogs[index].group).decode(slot: replies[slot]).count
            slot += 1
        }
        return backlogs
    }

    /// The backlog of one group of `stream`; `nil` when the stream or the group does not exist.
    public static func measure(
        stream: String, group: String, on connection: RedisConnection, cap: Int = defaultCap
    ) async throws(RedisError) -> GroupBacklog? {
        try await measure(stream: stream, on: connection, cap: cap).first { $0.group == group }
    }
}
