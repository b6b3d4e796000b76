import RedisClient

/// Walks and cleans the namespace's own keys with `SCAN` (never `KEYS`, never `FLUSHALL`).
public struct Keyspace: Sendable {
    /// The namespace.
    public let namespace: String

    /// Creates a keyspace helper.
    public init(namespace: String) { self.namespace = namespace }

    /// Every key matching `pattern`, found with `SCAN … MATCH … COUNT 1000`.
    public func keys(matching pattern: String, on connection: RedisConnection) async throws(RedisError) -> [String] {
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

    /// Deletes keys with `UNLINK`, pipelined.
    public func delete(_ keys: [String], on connection: RedisConnection) async throws(RedisError) {
        var start = 0
        while start < keys.count {
            let end = min(keys.count, start + 5_000)
            var commands: [RedisCommand] = []
            var chunk = start
            while chunk < end {
                let stop = min(end, chunk + 500)
                commands.append(RedisCommand("UNLINK", arguments: keys[chunk..<stop].map { $0 as any RedisArgument }))
                chunk = stop
            }
            for reply in try await connection.pipeline(commands) { _ = try reply.get() }
            start = end
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
