import RedisClient

/// The IP blocklist: a counting Bloom filter of 4-bit counters in `<ns>:blocklist:ip:counters`, its shape in
/// `<ns>:blocklist:ip:shape`, and the exact record of its members beside it (``FeatureKeys/ipBlocklistMembers``).
/// Scoring reads the filter; adding and removing go by the record, so adding a listed IP again changes nothing and
/// a removal answers what it really did.
extension FeatureStore {
    /// Capacity of the filter ``addToBlocklist(_:on:)`` creates when there is none (and of `prepare`'s).
    public static let defaultBlocklistCapacity = 100_000
    /// False-positive rate at capacity of the filter ``addToBlocklist(_:on:)`` creates when there is none.
    public static let defaultBlocklistFalsePositiveRate = 0.001

    /// Replaces the IP blocklist with `ips` in a counting Bloom filter of `shape`, operators' entries included (no
    /// command does this to a live namespace: `prepare` loads a world with
    /// ``loadWorldBlocklist(_:capacity:falsePositiveRate:on:)``). The counters string is allocated at its full size
    /// once, and the bitmap of the old layout and the record of a world's IPs are deleted.
    public func writeBlocklist(_ ips: [String], shape: BloomFilterShape, on connection: RedisConnection) async throws(RedisError) {
        var commands = [
            // One key per DEL: on a Redis Cluster they live in different slots.
            RedisCommand("DEL", keys.ipBlocklistCounters), RedisCommand("DEL", keys.ipBlocklistShape),
            RedisCommand("DEL", keys.legacyIPBlocklistBitmap), RedisCommand("DEL", keys.ipBlocklistWorld),
            RedisCommand("DEL", keys.ipBlocklistMembers), Self.shapeCommand(shape, key: keys.ipBlocklistShape),
            RedisCommand("BITFIELD", keys.ipBlocklistCounters, "SET", "u4", "#\(shape.counters - 1)", 0),
        ]
        let add = BloomAddCall(counters: keys.ipBlocklistCounters, shape: shape)
        for ip in ips {
            commands.append(add.command(ip))
            if commands.count >= chunkSize {
                try await Self.run(commands, on: connection)
                commands.removeAll(keepingCapacity: true)
            }
        }
        try await Self.run(commands, on: connection)
    }

    /// What ``listOnBlocklist(_:actor:on:)`` did.
    public struct BlocklistAddition: Sendable, Equatable {
        /// The filter's shape (the one found, or the one created).
        public var shape: BloomFilterShape
        /// For each IP, whether it was newly listed (`false`: it already was, and nothing changed).
        public var newlyListed: [Bool]
        /// IPs listed now, from every source.
        public var members: Int
        /// Whether the list is past the filter's designed capacity (its false-positive rate is then above the
        /// configured one; size a bigger filter with `prepare --blocklist-capacity`).
        public var overCapacity: Bool { shape.capacity > 0 && members > shape.capacity }
    }

    /// Adds IPs to the blocklist and returns the filter's shape. When there is no filter yet, creates one of
    /// ``defaultBlocklistCapacity`` at ``defaultBlocklistFalsePositiveRate``; for a bigger list, size one with
    /// ``writeBlocklist(_:shape:on:)``. Adding a listed IP again changes nothing.
    @discardableResult
    public func addToBlocklist(
        _ ips: [String], actor: String = AuditLog.commandLineActor, on connection: RedisConnection
    ) async throws(RedisError) -> BloomFilterShape {
        try await listOnBlocklist(ips, actor: actor, on: connection).shape
    }

    /// Adds IPs to the blocklist (see ``addToBlocklist(_:actor:on:)``) and says which were newly listed.
    public func listOnBlocklist(
        _ ips: [String], actor: String = AuditLog.commandLineActor, on connection: RedisConnection
    ) async throws(RedisError) -> BlocklistAddition {
        let shape: BloomFilterShape
        if let existing = try await blocklistShape(on: connection) {
            shape = existing
        } else {
            shape = BloomFilterShape(capacity: Self.defaultBlocklistCapacity, falsePositiveRate: Self.defaultBlocklistFalsePositiveRate)
            try await Self.run([
                // A record without a filter lists nothing the filter holds: it starts again with the filter.
                RedisCommand("DEL", keys.ipBlocklistMembers),
                Self.shapeCommand(shape, key: keys.ipBlocklistShape),
                // Allocates the string without clearing a counter another client may have incremented meanwhile.
                RedisCommand("BITFIELD", keys.ipBlocklistCounters, "OVERFLOW", "SAT", "INCRBY", "u4", "#\(shape.counters - 1)", 0),
            ], on: connection)
        }
        let add = BloomAddCall(counters: keys.ipBlocklistCounters, shape: shape)
        let audit = AuditLog(namespace: keys.namespace)
        var newlyListed: [Bool] = []
        newlyListed.reserveCapacity(ips.count)
        var start = 0
        while start < ips.count {
            // Each chunk and its audit entry in one transaction (the audit stream shares the counters' slot).
            let chunk = Array(ips[start..<min(ips.count, start + chunkSize)])
            let entry = AuditLog.Entry(actor: actor, action: "blocklist.add", target: Self.auditTarget(chunk), change: "listed")
            for reply in try await audit.recording(chunk.map { add.command($0) }, entry: entry, key: keys.ipBlocklistCounters, on: connection) {
                newlyListed.append(try BloomAddCall.decode(reply))
            }
            start += chunk.count
        }
        let members = try await connection.send(RedisCommand("HLEN", keys.ipBlocklistMembers)).int ?? 0
        return BlocklistAddition(shape: shape, newlyListed: newlyListed, members: members)
    }

    /// For each IP: whether it is listed (the exact record) and whether the filter scoring reads reports it (a
    /// listed IP always matches; an unlisted one matches at about the false-positive rate).
    public func blocklistMembership(_ ips: [String], on connection: RedisConnection) async throws(RedisError) -> [(listed: Bool, filterMatch: Bool)] {
        guard !ips.isEmpty else { return [] }
        let record = try await connection.send(RedisCommand("HMGET", arguments: [keys.ipBlocklistMembers] + ips.map { $0 as any RedisArgument }))
        let listed = (try record.get().array ?? []).map { !$0.isNull }
        let matches = try await isBlocklisted(ips, on: connection)
        return ips.indices.map { (listed: $0 < listed.count && listed[$0], filterMatch: matches[$0]) }
    }

    /// How many IPs are listed and the filter's designed capacity (0 when there is no filter).
    public func blocklistSize(on connection: RedisConnection) async throws(RedisError) -> (members: Int, capacity: Int) {
        let members = try await connection.send(RedisCommand("HLEN", keys.ipBlocklistMembers)).int ?? 0
        return (members, try await blocklistShape(on: connection)?.capacity ?? 0)
    }

    /// How an audit entry names a chunk of IPs: every IP of a small one, the first ones and the count of a large one.
    static func auditTarget(_ ips: [String]) -> String {
        ips.count <= 10 ? ips.joined(separator: ",") : ips.prefix(10).joined(separator: ",") + ",… (\(ips.count) IPs)"
    }

    /// Removes IPs from the blocklist; for each, whether it was removed (`false`: it was not listed, and nothing
    /// changed). The exact record decides, never the filter, so a never-added IP that the filter reports as a
    /// (false-positive) member is not "removed", and no colliding member is taken out. `source` `.world` is the world
    /// loader's: it unlists only the world's claim, and an IP an operator also listed stays.
    @discardableResult
    public func removeFromBlocklist(
        _ ips: [String], actor: String = AuditLog.commandLineActor, source: BloomItemCall.Source = .any,
        on connection: RedisConnection
    ) async throws(RedisError) -> [Bool] {
        guard let shape = try await blocklistShape(on: connection) else { return ips.map { _ in false } }
        // Each chunk and the audit entry of what it removed in one call: the log names exactly what was removed (a
        // removal of an IP that was not listed changes nothing and is not recorded).
        let unlist = BloomUnlistCall(counters: keys.ipBlocklistCounters, shape: shape)
        let audit = AuditLog(namespace: keys.namespace)
        let entry = AuditLog.Entry(actor: actor, action: "blocklist.remove", target: "", change: "unlisted")
        var removed: [Bool] = []
        removed.reserveCapacity(ips.count)
        var start = 0
        while start < ips.count {
            let chunk = ips[start..<min(ips.count, start + chunkSize)]
            let reply = try await connection.send(unlist.command(chunk, source: source, entry: entry, audit: audit))
            removed += try BloomUnlistCall.decode(reply, count: chunk.count)
            start += chunk.count
        }
        return removed
    }

    /// The blocklist filter's shape, or `nil` when none is loaded. Throws when the shape hash describes the
    /// plain Bloom filter bitmap of contract version 4 and earlier (no `counter_bits` field), or is malformed.
    public func blocklistShape(on connection: RedisConnection) async throws(RedisError) -> BloomFilterShape? {
        let reply = try await connection.send(RedisCommand("HGETALL", keys.ipBlocklistShape))
        guard let fields = try reply.get().stringPairs, !fields.isEmpty else { return nil }
        guard let counterBits = fields["counter_bits"] else {
            throw RedisError(
                code: .unexpectedReply,
                message: "the IP blocklist at \(keys.ipBlocklistShape) is a plain Bloom filter bitmap from an older FraudStream, "
                    + "which now keeps a counting Bloom filter at \(keys.ipBlocklistCounters); run `fraudstream prepare` again "
                    + "to rebuild it")
        }
        guard counterBits == "\(BloomFilterShape.counterBits)", let counters = fields["counters"].flatMap(Int.init), counters > 0,
            let hashes = fields["hashes"].flatMap(Int.init), hashes > 0
        else {
            throw RedisError(
                code: .unexpectedReply,
                message: "the IP blocklist shape at \(keys.ipBlocklistShape) is not one FraudStream reads (\(fields)); "
                    + "run `fraudstream prepare` again to rebuild it")
        }
        return BloomFilterShape(
            counters: counters, hashes: hashes, capacity: fields["capacity"].flatMap(Int.init) ?? 0,
            falsePositiveRate: fields["fp_rate"].flatMap(Double.init) ?? 0)
    }

    /// Tests IPs against the blocklist: one `fs_bloom_check` per chunk of ``chunkSize`` IPs, after reading
    /// the shape. IPs are all non-members when there is no blocklist.
    public func isBlocklisted(_ ips: [String], on connection: RedisConnection) async throws(RedisError) -> [Bool] {
        guard let shape = try await blocklistShape(on: connection) else { return ips.map { _ in false } }
        var hits: [Bool] = []
        hits.reserveCapacity(ips.count)
        var start = 0
        while start < ips.count {
            var check = BloomCheckCall(counters: keys.ipBlocklistCounters, shape: shape)
            for ip in ips[start..<min(ips.count, start + chunkSize)] { check.append(ip) }
            hits.append(contentsOf: try BloomCheckCall.decode(try await connection.send(check.command), items: check.itemCount))
            start += check.itemCount
        }
        return hits
    }

    /// `HSET` of the shape hash: `counter_bits` marks the counting layout (an old bitmap's hash has none).
    static func shapeCommand(_ shape: BloomFilterShape, key: String) -> RedisCommand {
        RedisCommand(
            "HSET", key, "counters", shape.counters, "counter_bits", BloomFilterShape.counterBits, "hashes", shape.hashes,
            "capacity", shape.capacity, "fp_rate", shape.falsePositiveRate)
    }
}
