import RedisClient

/// Walks and cleans the namespace's own keys with `SCAN` (never `KEYS`, never `FLUSHALL`).
public struct Keyspace: Sendable {
    /// The namespace.
    public let namespace: String

    /// Creates a keyspace helper.
    public init(namespace: String) { self.namespace = namespace }

    /// Every key matching `pattern` (and of `type`, e.g. `stream`, when given), found with
    /// `SCAN … MATCH … COUNT 1000 [TYPE …]` (on every primary of a cluster).
    public func keys(matching pattern: String, type: String? = nil, on connection: RedisConnection) async throws(RedisError) -> [String] {
        var found: [String] = []
        for node in try await connection.primaryConnections() {
            found += try await scan(matching: pattern, type: type, on: node)
        }
        return found
    }

    private func scan(matching pattern: String, type: String?, on connection: RedisConnection) async throws(RedisError) -> [String] {
        var cursor = "0"
        var found: [String] = []
        repeat {
            var arguments: [any RedisArgument] = [cursor, "MATCH", pattern, "COUNT", 1_000]
            if let type { arguments += ["TYPE", type] }
            let reply = try await connection.send(RedisCommand("SCAN", arguments: arguments))
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

    /// The namespace's dynamic feature state: what ``deleteFeatureState(on:)`` deletes.
    public struct FeatureState: Sendable, Equatable {
        /// Per-user and per-device keys (`<ns>:{…}:…`) but profiles: windows, devices, sketches, merchant buckets,
        /// device events, and the scoring API's first decisions.
        public var dynamicKeys: [String]
        /// Profile hashes (`<ns>:{<user>}:profile`): they stay, the running state kept in them goes.
        public var profiles: [String]

        /// The scoring API's first-decision records (`<ns>:{<user>}:decision:<transaction>`) among ``dynamicKeys``.
        public var decisionRecords: Int { dynamicKeys.count { $0.contains("}:decision:") } }
    }

    /// Finds the dynamic feature state with `SCAN`.
    public func featureState(on connection: RedisConnection) async throws(RedisError) -> FeatureState {
        var state = FeatureState(dynamicKeys: [], profiles: [])
        for key in try await keys(matching: "\(namespace):{*", on: connection) {
            guard let close = key.lastIndex(of: "}") else { continue }
            if key[key.index(after: close)...] == ":profile" { state.profiles.append(key) } else { state.dynamicKeys.append(key) }
        }
        return state
    }

    /// Deletes `state`: its dynamic keys, and the running-state fields of its profiles.
    public func delete(_ state: FeatureState, on connection: RedisConnection) async throws(RedisError) {
        try await delete(state.dynamicKeys, on: connection)
        var start = 0
        while start < state.profiles.count {
            let chunk = state.profiles[start..<min(state.profiles.count, start + 2_000)]
            let commands = chunk.map { RedisCommand("HDEL", arguments: [$0] + FeatureKeys.runningStateFields.map { $0 as any RedisArgument }) }
            for reply in try await connection.pipeline(commands) { _ = try reply.get() }
            start += chunk.count
        }
    }

    /// Deletes the dynamic feature state (windows, running statistics, devices, sketches, merchant
    /// buckets, device events) so history can be replayed from a clean slate. Profiles, blocklist,
    /// models, streams and statistics stay. Returns how many keys were touched.
    @discardableResult
    public func deleteFeatureState(on connection: RedisConnection) async throws(RedisError) -> Int {
        let state = try await featureState(on: connection)
        try await delete(state, on: connection)
        return state.dynamicKeys.count + state.profiles.count
    }
}
