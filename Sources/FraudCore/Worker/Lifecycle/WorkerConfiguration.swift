/// Everything a worker process needs to know; each value has a flag, an environment twin and a default.
public struct WorkerConfiguration: Sendable, Equatable {
    /// Key namespace (`NAMESPACE`).
    public var namespace = "fraud"
    /// Input stream (`TRANSACTION_STREAM`).
    public var transactionStream = "fraud:transactions"
    /// Results stream (`FRAUD_RESULTS_STREAM`).
    public var resultsStream = "fraud:results"
    /// Dead-letter stream (`DEAD_LETTER_STREAM`).
    public var deadLetterStream = "fraud:dead_letters"
    /// Consumer group (`DEFAULT_CONSUMER_GROUP`).
    public var consumerGroup = "inference_workers"
    /// Consumer name within the group (`CONSUMER_NAME`); unique per process.
    public var consumerName = "worker-1"
    /// Approximate cap of the results and dead-letter streams, and the length above which acknowledged
    /// input entries are trimmed (`MAX_STREAM_LENGTH`); 0 = no cap.
    public var maxStreamLength = 1_000_000
    /// Lifetime of the per-transaction result key in seconds (`RESULT_TTL`); 0 turns it off.
    public var resultTTLSeconds = 86_400
    /// Score at or above which `is_fraud` is 1 and the decision is `decline` (`FRAUD_THRESHOLD`).
    public var threshold = 0.7
    /// Score at or above which the decision is at least `review`.
    public var reviewThreshold = 0.3
    /// Most entries per batch (`BATCH_SIZE`).
    public var batchSize = 256
    /// How long a partial batch may wait for more entries (`LINGER_MS`); 0 sends what one read returned.
    public var lingerMilliseconds = 0
    /// Parallel feature connections (`FETCHERS`).
    public var fetchers = 1
    /// Parallel result-writer connections (`WRITERS`).
    public var writers = 1
    /// Most batches between reading and acknowledging (`MAX_IN_FLIGHT`).
    public var maxInFlight = 4
    /// `XREADGROUP … BLOCK` milliseconds (`BLOCK_MS`).
    public var blockMilliseconds = 1_000
    /// Entries idle longer than this in another consumer's pending list are claimed (`CLAIM_IDLE_MS`).
    public var claimIdleMilliseconds = 30_000
    /// Entries delivered more often than this go to the dead-letter stream (`MAX_DELIVERIES`).
    public var maxDeliveries = 5
    /// Serve this model version instead of the promoted one, and do not follow promotions (`MODEL_VERSION`).
    public var pinnedModelVersion: Int?
    /// How often to check for a newly promoted model, in milliseconds.
    public var modelCheckMilliseconds = 1_000
    /// How often the input stream's length is checked for trimming, in milliseconds.
    public var retentionCheckMilliseconds = 10_000
    /// How often statistics are flushed to Redis, in milliseconds.
    public var statisticsFlushMilliseconds = 1_000
    /// Print throughput, queue depths and time per stage every few seconds.
    public var profile = false
    /// Feature definitions shared with training.
    public var features = FeatureSettings()

    /// Creates the defaults.
    public init() {}

    /// The identity written into results and statistics.
    public var workerId: String { consumerName }

    /// Applies environment variables over the defaults (flags are applied over this by the caller).
    public mutating func apply(environment: [String: String]) {
        func text(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func integer(_ name: String) -> Int? { text(name).flatMap { Int($0) } }
        if let value = text("NAMESPACE") {
            namespace = value
            transactionStream = "\(value):transactions"
            resultsStream = "\(value):results"
            deadLetterStream = "\(value):dead_letters"
        }
        if let value = text("TRANSACTION_STREAM") { transactionStream = value }
        if let value = text("FRAUD_RESULTS_STREAM") { resultsStream = value }
        if let value = text("DEAD_LETTER_STREAM") { deadLetterStream = value }
        if let value = text("DEFAULT_CONSUMER_GROUP") { consumerGroup = value }
        if let value = text("CONSUMER_NAME") { consumerName = value }
        if let value = integer("MAX_STREAM_LENGTH") { maxStreamLength = value }
        if let value = integer("RESULT_TTL") { resultTTLSeconds = value }
        if let value = text("FRAUD_THRESHOLD").flatMap(Double.init) { threshold = value }
        if let value = integer("BATCH_SIZE") { batchSize = value }
        if let value = integer("LINGER_MS") { lingerMilliseconds = value }
        if let value = integer("FETCHERS") { fetchers = value }
        if let value = integer("WRITERS") { writers = value }
        if let value = integer("MAX_IN_FLIGHT") { maxInFlight = value }
        if let value = integer("BLOCK_MS") { blockMilliseconds = value }
        if let value = integer("CLAIM_IDLE_MS") { claimIdleMilliseconds = value }
        if let value = integer("MAX_DELIVERIES") { maxDeliveries = value }
        if let value = integer("MODEL_VERSION") { pinnedModelVersion = value }
        features = FeatureSettings.fromEnvironment(environment)
        features.namespace = namespace
    }

    /// Checks ranges; returns a readable problem or `nil`.
    public func problem() -> String? {
        if batchSize < 1 || batchSize > 10_000 { return "--batch-size must be between 1 and 10000" }
        if lingerMilliseconds < 0 { return "--linger-ms must be >= 0" }
        if fetchers < 1 || fetchers > 64 { return "--fetchers must be between 1 and 64" }
        if writers < 1 || writers > 64 { return "--writers must be between 1 and 64" }
        if maxInFlight < 1 { return "--max-in-flight must be >= 1" }
        if blockMilliseconds < 1 { return "--block-ms must be >= 1" }
        if claimIdleMilliseconds < 100 { return "--claim-idle-ms must be >= 100" }
        if maxDeliveries < 1 { return "--max-deliveries must be >= 1" }
        if !(0...1).contains(threshold) { return "--threshold must be between 0 and 1" }
        if resultTTLSeconds < 0 { return "RESULT_TTL must be >= 0" }
        if consumerName.isEmpty { return "--consumer-name must not be empty" }
        return nil
    }
}
