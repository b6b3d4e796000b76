import RedisClient

/// Walks and cleans the namespace's own keys with `SCAN` (never `KEYS`, never `FLUSHALL`).
public struct Keyspace: Sendable {
    /// The namespace.
    public let namespace: String

    /// Creates a keyspace helper.
    public init(namespace: String) { self.namespace = namespace }

    /// Every key matching `pattern`, found with `SCAN … MATCH … COUNT 1000` (on every primary of a cluster).
    public func keys(matching pattern: String, on connection: RedisConnection) async throws(RedisError) -> [String] {
        var found: [String] = []
        for node in try await connection.primaryConnections() {
            found += try await scan(matching: pattern, on: node)
        }
        return found
    }

    private func scan(matching pattern: String, on connection: RedisConnection) async throws(RedisError) -> [String] {
        var cursor = "0"
        var found: [String] = []
        repeat {
            let reply = try await connection.send(RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", 1_000))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                throw RedisError(code: .unexpectedReply, message: "SCAN returned \(reply)")
            }
            cursor = next
            found.append(contentsOf: (parts[1].array ?? []).compactMap(\.string))
        } while cursor != "0"
        return found
    }

    /// Deletes keys with `UNLINK`, pipelined; on a cluster each `UNLINK` holds keys of one hash slot.
    public func delete(_ keys: [String], on connection: RedisConnection) async throws(RedisError) {
        let groups: [[String]] = await connection.isCluster ? Array(Dictionary(grouping: keys, by: { HashSlot.of($0) }).values) : [keys]
        var commands: [RedisCommand] = []
        for group in groups {
            var start = 0
            while start < group.count {
                let stop = min(group.count, start + 500)
                commands.append(RedisCommand("UNLINK", arguments: group[start..<stop].map { $0 as any RedisArgument }))
                start = stop
            }
        }
        var start = 0
        while start < commands.count {
            let stop = min(commands.count, start + 5_000)
            for reply in try await connection.pipeline(Array(commands[start..<stop])) { _ = try reply.get() }
            start = stop
        }
    }

    /// Deletes the dynamic feature state (windows, running statistics, devices, sketches, merchant
    /// buckets, device events) so history can be replayed from a clean slate. Profiles, blocklist,
    /// models, streams and statistics stay. Returns how many keys were touched.
    @discardableResult
    public func deleteFeatureState(on connection: RedisConnection) async throws(RedisError) -> Int {
        let candidates = try await keys(matching: "\(namespace):{*", on: connection)
        var dynamic: [String] = []
        var profiles: [String] = []
        for key in candidates {
            guard let close = key.lastIndex(of: "}") else { continue }
            if key[key.index(after: close)...] == ":profile" { profiles.append(key) } else { dynamic.append(key) }
        }
        try await delete(dynamic, on: connection)
        // Profiles stay; the running state kept in them goes.
        var start = 0
        while start < profiles.count {
            let chunk = profiles[start..<min(profiles.count, start + 2_000)]
            let commands = chunk.map { RedisCommand("HDEL", arguments: [$0] + FeatureKeys.runningStateFields.map { $0 as any RedisArgument }) }
            for reply in try await connection.pipeline(commands) { _ = try reply.get() }
            start += chunk.count
        }
        return dynamic.count + profiles.count
    }
}
