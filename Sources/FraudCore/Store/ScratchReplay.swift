import RedisClient

/// The training matrix of a world without touching serving state: its profiles and blocklist are installed in a
/// scratch namespace (e.g. `<ns>:export:<pid>`), its history is replayed there through the serving feature path
/// in event-time order, and every scratch key is deleted afterwards, whether the replay succeeded or not. Used by
/// `export-features`, `backtest` and `train`.
public struct ScratchReplay: Sendable {
    /// The scratch namespace.
    public let namespace: String

    /// A replay in `namespace`, which must hold nothing else: all of it is deleted.
    public init(namespace: String) { self.namespace = namespace }

    /// Each history transaction's feature vector before it, computed with `settings` (their namespace is replaced
    /// by the scratch one) and a blocklist filter of `blocklistCapacity` at `falsePositiveRate`; with `features`, the
    /// set's features follow the built-in ones, computed by the same calls as serving.
    public func rows(
        of world: SyntheticWorld, settings: FeatureSettings, features: FeatureSet? = nil,
        blocklistCapacity: Int = FeatureStore.defaultBlocklistCapacity,
        falsePositiveRate: Double = FeatureStore.defaultBlocklistFalsePositiveRate,
        batchSize: Int = 1_000, on connection: RedisConnection, progress: (@Sendable (Int) -> Void)? = nil
    ) async throws(RedisError) -> [[Double]] {
        let store = FeatureStore(namespace: namespace)
        var scratchSettings = settings
        scratchSettings.namespace = namespace
        do {
            let blocklist = try await store.install(
                world, blocklistCapacity: blocklistCapacity, falsePositiveRate: falsePositiveRate, on: connection)
            let rows = try await store.replay(
                world.history, extractor: FeatureExtractor(settings: scratchSettings, blocklistShape: blocklist.shape, features: features),
                batchSize: batchSize, on: connection, progress: progress)
            try await deleteScratch(on: connection)
            return rows
        } catch {
            try? await deleteScratch(on: connection)
            throw error
        }
    }

    /// Deletes every key of the scratch namespace.
    public func deleteScratch(on connection: RedisConnection) async throws(RedisError) {
        let keyspace = Keyspace(namespace: namespace)
        // `{<scratch>:…}` too: the blocklist's member record is tagged with its counters key's whole name.
        let keys = try await keyspace.keys(matching: "\(namespace):*", on: connection)
            + (try await keyspace.keys(matching: "{\(namespace):*", on: connection))
        try await keyspace.delete(keys, on: connection)
    }
}
