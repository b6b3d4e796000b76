/// Everything a worker process needs to know; each value has a flag, an environment twin and a default.
public struct WorkerConfiguration: Sendable, Equatable {
    /// Namespace, streams and group.
    public var streams = StreamNames()
    /// Key namespace (`NAMESPACE`); setting it derives the default stream names under it again.
    public var namespace: String {
        get { streams.namespace }
        set {
            let group = streams.consumerGroup
            streams = StreamNames(namespace: newValue)
            streams.consumerGroup = group
            features.namespace = newValue
        }
    }
    /// Input stream (`TRANSACTION_STREAM`).
    public var transactionStream: String {
        get { streams.transactions }
        set { streams.transactions = newValue }
    }
    /// Results stream (`FRAUD_RESULTS_STREAM`).
    public var resultsStream: String {
        get { streams.results }
        set { streams.results = newValue }
    }
    /// Dead-letter stream (`DEAD_LETTER_STREAM`).
    public var deadLetterStream: String {
        get { streams.deadLetters }
        set { streams.deadLetters = newValue }
    }
    /// Consumer group (`DEFAULT_CONSUMER_GROUP`).
    public var consumerGroup: String {
        get { streams.consumerGroup }
        set { streams.consumerGroup = newValue }
    }
    /// Consumer name within the group (`CONSUMER_NAME`); unique per process.
    public var consumerName = "worker-1"
    /// Approximate cap of the results and dead-letter streams, and the length above which acknowledged
    /// input entries are trimmed (`MAX_STREAM_LENGTH`); 0 = no cap.
    public var maxStreamLength = 1_000_000
    /// Lifetime of the per-transaction result key `<ns>:result:<transaction_id>` in seconds (`RESULT_TTL`);
    /// 0, the default, writes no such key (one key per transaction is the largest key family there would be;
    /// the results stream, capped by `MAX_STREAM_LENGTH`, holds every result anyway).
    public var resultTTLSeconds = 0
    /// Lifetime in seconds of every statistics key of a run (`STATS_TTL`), refreshed with each batch
    /// and each latency flush the run gets, so a finished run's statistics go after this long.
    public var statsTTLSeconds = RunStatisticsKeys.defaultTTLSeconds
    /// How long the fraud counts over time are kept, s (`TIMESERIES_RETENTION`); 0 writes none.
    public var timeSeriesRetentionSeconds = TimeSeriesKeys.defaultRetentionSeconds
    /// The partitions this worker reads (`PARTITION_SET`); nil reads all of ``StreamNames/partitionCount``.
    public var partitionSet: [Int]?

    /// The partitions this worker reads, in order.
    public var partitionIndices: [Int] { partitionSet ?? Array(0..<streams.partitionCount) }

    /// Where this worker's run statistics go: tagged like its results stream, so its write call touches one slot.
    public var statisticsKeys: RunStatisticsKeys {
        RunStatisticsKeys(namespace: namespace, tag: RunStatisticsKeys.tag(forResultsStream: resultsStream))
    }
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
    /// How long the consumer-name lease lives without renewal (`LEASE_TTL_MS`): how soon a crashed worker's
    /// name is free again. It is renewed every third of this.
    public var leaseTTLMilliseconds = 10_000
    /// Milliseconds between renewals of the consumer-name lease.
    public var leaseRenewMilliseconds: Int { max(100, leaseTTLMilliseconds / 3) }
    /// Consumers of the group idle at least this long, with nothing pending and no lease, are removed by the
    /// periodic claim: twice the claim idle time.
    public var idleConsumerRemovalMilliseconds: Int { claimIdleMilliseconds * 2 }
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
    /// How long SIGTERM/SIGINT may take to drain before the rest is left pending (`SHUTDOWN_TIMEOUT_MS`).
    public var shutdownTimeoutMilliseconds = 5_000
    /// Whether the process ends (exit 75, one line) when a shutdown outlasts ``shutdownTimeoutMilliseconds``: set by
    /// the `worker` command, never by in-process hosts such as tests. See ``ShutdownDeadline``.
    public var exitsPastShutdownDeadline = false
    /// The oldest plausible event time, epoch ms (`EARLIEST_TIMESTAMP_MS`, 2000-01-01); older entries are dead-lettered.
    public var earliestTimestampMilliseconds = Int(EntryValidator.defaultEarliestTimestampMilliseconds)
    /// How far in the future an event time may be (`MAX_CLOCK_SKEW_MS`, 366 days); later entries are dead-lettered.
    public var maxClockSkewMilliseconds = Int(EntryValidator.defaultMaxClockSkewMilliseconds)
    /// Print throughput, queue depths and time per stage every few seconds.
    public var profile = false
    /// Go on deciding from memory when Redis lost the namespace's state (`KEEP_SERVING_ON_STATE_LOSS`).
    public var keepServingOnStateLoss = false
    /// The largest acceptable amount (`MAX_AMOUNT`).
    public var maxAmount = TransactionParser.defaultMaximumAmount
    /// Every results entry carries the transaction's contract fields and feature vector (`RESULT_EVIDENCE=full`).
    public var fullEvidence = false
    /// Identifiers replaced by a keyed HMAC before anything is stored (`PSEUDONYMIZE`, `FRAUD_ID_KEY_FILE`), or nil.
    public var pseudonymizer: Pseudonymizer?
    /// The consumer-name lease's token, when a supervisor gives one: the same for every restart of one slot, so a
    /// child restarted after a crash takes its name back at once instead of waiting for its predecessor's lease to
    /// expire. `nil`: a fresh random token.
    public var leaseToken: String?
    /// How long a transaction's decision is kept for duplicates (`IDEMPOTENCY_TTL`), s.
    public var idempotencyTTLSeconds = 86_400
    /// Feature definitions shared with training.
    public var features = FeatureSettings()

    /// Creates the defaults.
    public init() {}

    /// The identity written into results and statistics.
    public var workerId: String { consumerName }

    /// The integer settings with the range each must lie in, checked the same way whether a value
    /// came from a flag, the environment or code.
    static var integerSettings: [(setting: Setting, range: ClosedRange<Int>, value: WritableKeyPath<WorkerConfiguration, Int>)] {
        [
            (Settings.maxStreamLength, 0...Int.max, \.maxStreamLength),
            (Settings.resultTTL, 0...Settings.maximumTTLSeconds, \.resultTTLSeconds),
            (Settings.statsTTL, 1...Settings.maximumTTLSeconds, \.statsTTLSeconds),
            (Settings.timeSeriesRetention, 0...Settings.maximumTTLSeconds, \.timeSeriesRetentionSeconds),
            (Settings.batchSize, 1...10_000, \.batchSize),
            (Settings.lingerMilliseconds, 0...60_000, \.lingerMilliseconds),
            (Settings.fetchers, 1...64, \.fetchers),
            (Settings.writers, 1...64, \.writers),
            (Settings.maxInFlight, 1...1_000, \.maxInFlight),
            (Settings.blockMilliseconds, 1...600_000, \.blockMilliseconds),
            (Settings.claimIdleMilliseconds, 100...86_400_000, \.claimIdleMilliseconds),
            (Settings.maxDeliveries, 1...1_000, \.maxDeliveries),
            (Settings.idempotencyTTL, 1...Settings.maximumTTLSeconds, \.idempotencyTTLSeconds),
            (Settings.shutdownTimeoutMilliseconds, 100...600_000, \.shutdownTimeoutMilliseconds),
            (Settings.earliestTimestampMilliseconds, 0...4_102_444_800_000, \.earliestTimestampMilliseconds),
            (Settings.maxClockSkewMilliseconds, 0...3_153_600_000_000, \.maxClockSkewMilliseconds),
            (Settings.leaseTTLMilliseconds, 500...3_600_000, \.leaseTTLMilliseconds),
        ]
    }

    /// Flags over environment over defaults, each value checked: a value that does not parse or is
    /// out of range is an error naming its flag or variable, never replaced by the default.
    public static func resolve(_ settings: SettingsResolver, defaultConsumerName: String) throws(FraudError) -> WorkerConfiguration {
        var configuration = WorkerConfiguration()
        _ = try settings.integer(Settings.partitions, in: 1...1_024)
        // Named as on a single server until the worker connects and learns whether Redis is a cluster (Worker.assemble).
        configuration.streams = StreamNames(resolving: settings, serverIsCluster: false)
        if let text = settings.string(Settings.partitionSet) {
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let indices = parts.compactMap { Int($0) }
            guard indices.count == parts.count, !indices.isEmpty else {
                throw FraudError(.invalidSetting, "\(Settings.partitionSet) '\(text)' is not a comma-separated list of partition numbers")
            }
            configuration.partitionSet = Array(Set(indices)).sorted()
        }
        configuration.features = try FeatureSettings.resolve(settings)
        configuration.consumerName = settings.string(Settings.consumerName) ?? defaultConsumerName
        for entry in integerSettings {
            if let value = try settings.integer(entry.setting, in: entry.range) { configuration[keyPath: entry.value] = value }
        }
        if let value = try settings.decimal(Settings.threshold, in: 0...1) { configuration.threshold = value }
        if let value = try settings.decimal(Settings.reviewThreshold, in: 0...1) { configuration.reviewThreshold = value }
        if let value = try settings.integer(Settings.modelVersion, in: 1...Int.max) { configuration.pinnedModelVersion = value }
        if let value = try settings.boolean(Settings.profile) { configuration.profile = value }
        if let value = try settings.boolean(Settings.keepServingOnStateLoss) { configuration.keepServingOnStateLoss = value }
        if let value = try settings.decimal(Settings.maxAmount, in: 0.01...1e15) { configuration.maxAmount = value }
        if let value = try settings.choice(Settings.resultEvidence, of: ["reviews", "full"]) { configuration.fullEvidence = value == "full" }
        configuration.pseudonymizer = try Pseudonymizer.resolve(settings)
        if let problem = configuration.problem() { throw FraudError(.invalidSetting, problem) }
        return configuration
    }

    /// Checks ranges; returns a readable problem or `nil`.
    public func problem() -> String? {
        for entry in Self.integerSettings where !entry.range.contains(self[keyPath: entry.value]) {
            let bound = entry.range.upperBound == Int.max ? ">= \(entry.range.lowerBound)" : "between \(entry.range.lowerBound) and \(entry.range.upperBound)"
            return "\(entry.setting) must be \(bound)"
        }
        if !(0...1).contains(threshold) { return "\(Settings.threshold) must be between 0 and 1" }
        if !(0...1).contains(reviewThreshold) { return "\(Settings.reviewThreshold) must be between 0 and 1" }
        if consumerName.isEmpty { return "\(Settings.consumerName) must not be empty" }
        if let partitionSet, let outside = partitionSet.first(where: { !(0..<streams.partitionCount).contains($0) }) {
            return "\(Settings.partitionSet) names partition \(outside), but there are \(streams.partitionCount) (0…\(streams.partitionCount - 1); set \(Settings.partitions))"
        }
        if streams.partitionCount > 1, let tagged = [streams.partition(0).transactions, streams.partition(0).results, streams.partition(0).deadLetters]
            .first(where: { $0.filter { $0 == "{" }.count > 1 }) {
            return "with \(Settings.partitions) > 1 the stream names get a partition tag each; \(tagged) already had a {hash tag}"
        }
        let ttlRange = 1...Settings.maximumTTLSeconds
        if !ttlRange.contains(features.userStateTTLSeconds) { return "\(Settings.userStateTTL) must be between 1 and \(ttlRange.upperBound)" }
        if !ttlRange.contains(features.unknownUserTTLSeconds) { return "\(Settings.unknownUserTTL) must be between 1 and \(ttlRange.upperBound)" }
        return nil
    }
}
