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

    /// The names a command uses: each flag, else its environment variable, else the namespace's default.
    /// The default names of partition `partition` on a Redis Cluster: `<ns>:transactions:{p<i>}`,
    /// `<ns>:results:{p<i>}`, `<ns>:dead_letters:{p<i>}`, so a worker's write (input acknowledgement, results,
    /// dead letters, statistics, counts over time) touches one hash slot.
    public init(namespace: String, partition: Int) {
        self.init(namespace: namespace)
        transactions = "\(namespace):transactions:{p\(partition)}"
        results = "\(namespace):results:{p\(partition)}"
        deadLetters = "\(namespace):dead_letters:{p\(partition)}"
    }

    /// The hash tag the input, results and dead-letter streams share, or nil when they do not all carry the
    /// same one (fine on a single Redis; on a cluster a worker's write call needs them in one slot).
    public var sharedHashTag: String? {
        guard let tag = HashSlot.tag(of: transactions), HashSlot.tag(of: results) == tag, HashSlot.tag(of: deadLetters) == tag else {
            return nil
        }
        return tag
    }

    public init(resolving settings: SettingsResolver) {
        let namespace = settings.string(Settings.namespace) ?? Self.defaultNamespace
        if (try? settings.boolean(Settings.redisCluster)) == true {
            self.init(namespace: namespace, partition: 0)
        } else {
            self.init(namespace: namespace)
        }
        if let value = settings.string(Settings.transactionStream) { transactions = value }
        if let value = settings.string(Settings.resultsStream) { results = value }
        if let value = settings.string(Settings.deadLetterStream) { deadLetters = value }
        if let value = settings.string(Settings.consumerGroup) { consumerGroup = value }
    }
}
