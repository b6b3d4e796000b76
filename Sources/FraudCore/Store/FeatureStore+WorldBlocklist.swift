import RedisClient

/// Loading a world's blocklisted IPs into the live filter without losing what operators added. A counting Bloom
/// filter cannot list its members, so the world's own IPs are kept beside it in `<ns>:blocklist:ip:world`: loading a
/// world again counts in the IPs that set lacks and counts out the ones the new world no longer lists, and never
/// clears the filter.
extension FeatureStore {
    /// What ``loadWorldBlocklist(_:capacity:falsePositiveRate:on:)`` did.
    public struct WorldBlocklistLoad: Sendable, Equatable {
        /// The filter's shape: the existing one's, or `requestedShape` when a filter was created.
        public var shape: BloomFilterShape
        /// The shape asked for; it differs from ``shape`` when an existing filter was kept.
        public var requestedShape: BloomFilterShape
        /// The world's distinct IPs.
        public var worldIPs: Int
        /// World IPs counted in now (the ones an earlier load had not added).
        public var added: Int
        /// IPs an earlier world added that this one does not list, counted out (an operator's own count stays).
        public var removed: Int
        /// Whether there was no filter, so one of `requestedShape` was created.
        public var created: Bool
        /// Whether a plain Bloom filter bitmap of contract version 4 and earlier was replaced (it is unreadable as
        /// counters, so nothing in it could be kept).
        public var replacedOldLayout: Bool
    }

    /// Counts the world's IPs into the blocklist: creates a filter of `capacity` (at least the list) at
    /// `falsePositiveRate` when there is none, else keeps the existing one whatever its size (re-sizing would need
    /// its members, which a counting Bloom filter cannot list); adds the IPs that ``FeatureKeys/ipBlocklistWorld``
    /// lacks and removes the ones it holds that `ips` no longer lists. Entries added with ``addToBlocklist(_:on:)``
    /// (`blocklist add`, the API) are never touched, and a world IP an operator removed stays removed.
    public func loadWorldBlocklist(
        _ ips: [String], capacity: Int, falsePositiveRate: Double, on connection: RedisConnection
    ) async throws(RedisError) -> WorldBlocklistLoad {
        var seen = Set<String>()
        let world = ips.filter { seen.insert($0).inserted }
        let requested = BloomFilterShape(capacity: max(capacity, world.count), falsePositiveRate: falsePositiveRate)
        let fields = try await connection.send(RedisCommand("HGETALL", keys.ipBlocklistShape)).get().stringPairs ?? [:]
        let shape: BloomFilterShape
        let replacedOldLayout = !fields.isEmpty && fields["counter_bits"] == nil
        if fields.isEmpty || replacedOldLayout {
            // No filter this build can read, so no world IP is in one: a new filter, allocated without clearing a
            // counter an operator's `blocklist add` may have incremented meanwhile. One key per DEL (cluster slots).
            shape = requested
            try await Self.run(
                [
                    RedisCommand("DEL", keys.legacyIPBlocklistBitmap), RedisCommand("DEL", keys.ipBlocklistWorld),
                    RedisCommand("DEL", keys.ipBlocklistMembers), RedisCommand("DEL", keys.ipBlocklistShape), Self.shapeCommand(shape, key: keys.ipBlocklistShape),
                    RedisCommand("BITFIELD", keys.ipBlocklistCounters, "OVERFLOW", "SAT", "INCRBY", "u4", "#\(shape.counters - 1)", 0),
                ], on: connection)
        } else {
            guard let existing = try await blocklistShape(on: connection) else {
                throw RedisError(code: .unexpectedReply, message: "the IP blocklist shape at \(keys.ipBlocklistShape) vanished while it was read")
            }
            shape = existing
        }

        let loaded = Set((try await connection.send(RedisCommand("SMEMBERS", keys.ipBlocklistWorld)).get().array ?? []).compactMap(\.string))
        let missing = world.filter { !loaded.contains($0) }
        let dropped = loaded.subtracting(world).sorted()
        // Counted in, then recorded: a crash between the two counts an IP twice on the next load (it stays listed
        // longer), which never takes a count from an operator's entry.
        let add = BloomAddCall(counters: keys.ipBlocklistCounters, shape: shape)
        for chunk in Self.chunks(missing, size: chunkSize) {
            try await Self.run(chunk.map { add.command($0, source: .world) }, on: connection)
            try await Self.run([RedisCommand("SADD", arguments: [keys.ipBlocklistWorld] + chunk.map { $0 as any RedisArgument })], on: connection)
        }
        // Unrecorded, then counted out: a crash between leaves an IP listed, never counts one out twice.
        for chunk in Self.chunks(dropped, size: chunkSize) {
            try await Self.run([RedisCommand("SREM", arguments: [keys.ipBlocklistWorld] + chunk.map { $0 as any RedisArgument })], on: connection)
            _ = try await removeFromBlocklist(chunk, source: .world, on: connection)
        }
        return WorldBlocklistLoad(
            shape: shape, requestedShape: requested, worldIPs: world.count, added: missing.count, removed: dropped.count,
            created: fields.isEmpty || replacedOldLayout, replacedOldLayout: replacedOldLayout)
    }

    /// The IPs the loaded world added (``FeatureKeys/ipBlocklistWorld``).
    public func worldBlocklistIPs(on connection: RedisConnection) async throws(RedisError) -> Set<String> {
        Set((try await connection.send(RedisCommand("SMEMBERS", keys.ipBlocklistWorld)).get().array ?? []).compactMap(\.string))
    }

    static func chunks(_ items: [String], size: Int) -> [[String]] {
        stride(from: 0, to: items.count, by: max(size, 1)).map { Array(items[$0..<min(items.count, $0 + max(size, 1))]) }
    }
}
