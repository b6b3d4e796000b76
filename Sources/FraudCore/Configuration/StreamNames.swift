import RedisClient

/// The streams and group of a namespace: the one place their default names are derived.
public struct StreamNames: Sendable, Equatable {
    /// The namespace they live under.
    public var namespace: String
    /// Input stream (`TRANSACTION_STREAM`, default `<ns>:transactions`).
    public var transactions: String
    /// Results stream (`FRAUD_RESULTS_STREAM`, default `<ns>:results`).
    public var results: String
    /// Dead-letter stream (`DEAD_LETTER_STREAM`, default `<ns>:dead_letters`).
    public var deadLetters: String
    /// Consumer group (`DEFAULT_CONSUMER_GROUP`, default `inference_workers`).
    public var consumerGroup: String

    /// The default namespace.
    public static let defaultNamespace = "fraud"
    /// The default consumer group, as in the reference pipeline.
    public static let defaultConsumerGroup = "inference_workers"

    /// The default names under `namespace`.
    public init(namespace: String = StreamNames.defaultNamespace) {
        self.namespace = namespace
        transactions = "\(namespace):transactions"
        results = "\(namespace):results"
        deadLetters = "\(namespace):dead_letters"
        consumerGroup = Self.defaultConsumerGroup
    }

    /// The default names of partition `partition` on a Redis Cluster: `<ns>:transactions:{p<i>}`,
    /// `<ns>:results:{p<i>}`, `<ns>:dead_letters:{p<i>}`, so a worker's write (input acknowledgement, results,
    /// dead letters, statistics, counts over time) touches one hash slot.
    public init(namespace: String, partition: Int, of count: Int = 1) {
        self.init(namespace: namespace)
        self = partitioned(count: max(count, partition + 1)).partition(partition)
    }

    /// How many partitions the input has (`PARTITIONS`): 1 is one stream, named as it is given.
    public var partitionCount = 1
    /// Which partition these names are (0 when not partitioned).
    public var partitionIndex = 0
    /// The names before a partition's `:{p<i>}`; nil when not partitioned.
    private var unpartitioned: [String]?

    /// Whether the names carry partition tags (`--partitions` > 1, or a cluster).
    public var isPartitioned: Bool { unpartitioned != nil }

    /// Partition 0 of these names split `count` ways: each name gets `:{p<i>}`.
    public func partitioned(count: Int) -> StreamNames {
        var names = self
        names.unpartitioned = unpartitioned ?? [transactions, results, deadLetters]
        names.partitionCount = max(1, count)
        return names.partition(0)
    }

    /// The same names split into `count` partitions instead (1: the streams as named, untagged), then as on a
    /// cluster when `isCluster`: what a reader uses for a run whose metadata records its partition count.
    public func withPartitionCount(_ count: Int, onCluster isCluster: Bool) -> StreamNames {
        var names = self
        if let base = unpartitioned {
            names.transactions = base[0]
            names.results = base[1]
            names.deadLetters = base[2]
            names.unpartitioned = nil
            names.partitionCount = 1
            names.partitionIndex = 0
        }
        if count > 1 { names = names.partitioned(count: count) }
        return names.onCluster(isCluster)
    }

    /// The names of partition `index` (these names themselves when not partitioned).
    public func partition(_ index: Int) -> StreamNames {
        guard let base = unpartitioned else { return self }
        var names = self
        names.partitionIndex = index
        names.transactions = "\(base[0]):{p\(index)}"
        names.results = "\(base[1]):{p\(index)}"
        names.deadLetters = "\(base[2]):{p\(index)}"
        return names
    }

    /// Every partition's names, in order.
    public var partitions: [StreamNames] { (0..<partitionCount).map(partition) }

    /// The partition a user's transactions go to (``UserRoute``): CRC16 (XMODEM, Redis Cluster's) of the user id,
    /// mod the number of partitions, so one user's transactions stay in order in one stream.
    public static func partitionIndex(forUser user: String, count: Int) -> Int {
        UserRoute.partition(of: user, count: count)
    }

    /// The names of the partition `user`'s transactions go to.
    public func partition(forUser user: String) -> StreamNames {
        partition(Self.partitionIndex(forUser: user, count: partitionCount))
    }

    /// The hash tag the input, results and dead-letter streams share, or nil when they do not all carry the
    /// same one (fine on a single Redis; on a cluster a worker's write call needs them in one slot).
    public var sharedHashTag: String? {
        guard let tag = HashSlot.tag(of: transactions), HashSlot.tag(of: results) == tag, HashSlot.tag(of: deadLetters) == tag else {
            return nil
        }
        return tag
    }

    /// The names a command uses: each flag, else its environment variable, else the namespace's default; split
    /// into `PARTITIONS` partitions when more than one; on a Redis Cluster, one tagged partition (``onCluster(_:)``).
    /// A cluster is what the connection found: `REDIS_CLUSTER=1` (`--cluster`) requires one, unset asks the server
    /// (`INFO cluster`), `0` never asks; pass `await connection.isCluster` as `serverIsCluster` (or `false` before
    /// connecting, then ``onCluster(_:)`` once connected). Every command resolves its streams this way, so a
    /// producer and a worker on the same Redis always name the same streams. Returns partition 0's names;
    /// ``partitions`` has them all.
    public init(resolving settings: SettingsResolver, serverIsCluster: Bool) {
        self.init(namespace: Self.namespace(resolving: settings))
        if let value = settings.string(Settings.transactionStream) { transactions = value }
        if let value = settings.string(Settings.resultsStream) { results = value }
        if let value = settings.string(Settings.deadLetterStream) { deadLetters = value }
        if let value = settings.string(Settings.consumerGroup) { consumerGroup = value }
        let count = (try? settings.integer(Settings.partitions, in: 1...1_024)) ?? nil
        if (count ?? 1) > 1 { self = partitioned(count: count ?? 1) }
        self = onCluster(serverIsCluster || (try? settings.boolean(Settings.redisCluster)) == true)
    }

    /// The namespace of `settings` (`--namespace`, `NAMESPACE`, else `fraud`).
    public static func namespace(resolving settings: SettingsResolver) -> String {
        settings.string(Settings.namespace) ?? defaultNamespace
    }

    /// These names on a Redis Cluster (`isCluster`), or as they are: on a cluster, names that are neither
    /// partitioned nor share a hash tag become partition 0 of one (`<name>:{p0}`), so a worker's write call touches
    /// one slot. Names that already share a `{tag}` stay as given.
    public func onCluster(_ isCluster: Bool) -> StreamNames {
        isCluster && !isPartitioned && sharedHashTag == nil ? partitioned(count: 1) : self
    }
}
