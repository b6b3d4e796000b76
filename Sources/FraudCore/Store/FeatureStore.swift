import RedisClient

/// Loads what the features read: the Functions library, user profiles and the IP blocklist.
public struct FeatureStore: Sendable {
    /// Key names.
    public let keys: FeatureKeys
    /// Commands per pipeline when loading in bulk.
    public var chunkSize = 2_000

    /// Creates a store under `namespace`.
    public init(namespace: String) {
        keys = FeatureKeys(namespace: namespace)
    }

    /// Loads (or replaces) the feature functions.
    public func loadLibrary(on connection: RedisConnection) async throws(RedisError) {
        try await FunctionLibrary.features.load(on: connection)
    }

    /// Installs what serving a world needs: the feature functions, every profile, and the world's IPs in the
    /// blocklist's counting Bloom filter (one sized for `blocklistCapacity`, at least the list, at
    /// `falsePositiveRate` when there is none). Operators' blocklist entries stay: see
    /// ``loadWorldBlocklist(_:capacity:falsePositiveRate:on:)``.
    @discardableResult
    public func install(
        _ world: SyntheticWorld, blocklistCapacity: Int, falsePositiveRate: Double, on connection: RedisConnection
    ) async throws(RedisError) -> WorldBlocklistLoad {
        try await loadLibrary(on: connection)
        try await writeProfiles(world.profiles, on: connection)
        return try await loadWorldBlocklist(
            world.blocklistedIPs, capacity: blocklistCapacity, falsePositiveRate: falsePositiveRate, on: connection)
    }

    /// The profile hash's fields for `profile`.
    public static func profileFields(_ profile: UserProfile) -> [any RedisArgument] {
        [
            "home_lat", profile.homeLatitude, "home_lon", profile.homeLongitude,
            "preferred_card", profile.preferredCard, "segment", profile.segment,
            "risk_score", profile.riskScore, "account_created", Int(profile.accountCreatedMilliseconds),
            "usual_categories", profile.usualCategories.joined(separator: ","),
            "typical_spend", profile.typicalSpend,
            "devices", profile.devices.joined(separator: ","), "ips", profile.ips.joined(separator: ","),
        ]
    }

    /// Writes every profile hash, pipelined. A profile never expires: `PERSIST` removes the TTL the hash had
    /// when it held only the running state of a then unknown user.
    public func writeProfiles(_ profiles: [UserProfile], on connection: RedisConnection) async throws(RedisError) {
        var commands: [RedisCommand] = []
        for profile in profiles {
            let key = keys.profile(profile.userId)
            commands.append(RedisCommand("HSET", arguments: [key] + Self.profileFields(profile)))
            commands.append(RedisCommand("PERSIST", key))
            if commands.count >= chunkSize {
                try await Self.run(commands, on: connection)
                commands.removeAll(keepingCapacity: true)
            }
        }
        try await Self.run(commands, on: connection)
    }

    /// Replays `history` in event-time order through the serving feature path and returns each
    /// transaction's vector as it was before that transaction: the training matrix.
    public func replay(
        _ history: [Transaction], extractor: FeatureExtractor, batchSize: Int = 1_000, on connection: RedisConnection,
        progress: (@Sendable (Int) -> Void)? = nil
    ) async throws(RedisError) -> [[Double]] {
        var rows: [[Double]] = []
        rows.reserveCapacity(history.count)
        var start = 0
        while start < history.count {
            let batch = Array(history[start..<min(history.count, start + batchSize)])
            rows.append(contentsOf: try await extractor.fetch(batch, on: connection))
            start += batch.count
            progress?(start)
        }
        return rows
    }

    static func run(_ commands: [RedisCommand], on connection: RedisConnection) async throws(RedisError) {
        guard !commands.isEmpty else { return }
        for reply in try await connection.pipeline(commands) where reply.isError {
            _ = try reply.get()
        }
    }
}
