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
    public init(resolving settings: SettingsResolver) {
        self.init(namespace: settings.string(Settings.namespace) ?? Self.defaultNamespace)
        if let value = settings.string(Settings.transactionStream) { transactions = value }
        if let value = settings.string(Settings.resultsStream) { results = value }
        if let value = settings.string(Settings.deadLetterStream) { deadLetters = value }
        if let value = settings.string(Settings.consumerGroup) { consumerGroup = value }
    }
}
