import ArgumentParser
import FraudCore

/// The flags every scoring process shares (`worker` and `serve`): which model, the decision rules, where
/// results go and how long they are kept, the timestamp window, shutdown and logging.
struct DecisionOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Serve this model version and ignore promotions [MODEL_VERSION] (default: the promoted one, followed live).")
    var modelVersion: Int?
    @Option(parsing: .unconditional, help: "Score at or above which is_fraud=1 and the decision is decline [FRAUD_THRESHOLD] (default 0.7).")
    var threshold: Double?
    @Option(parsing: .unconditional, help: "Score at or above which the decision is at least review [REVIEW_THRESHOLD] (default 0.3). Whatever the score, ip_blocklist, impossible_travel and click_spam make an approve a review.")
    var reviewThreshold: Double?
    @Option(help: "Results stream [FRAUD_RESULTS_STREAM] (default <namespace>:results).")
    var resultsStream: String?
    @Option(parsing: .unconditional, help: "Partitions of the input: <stream>:{p0} … <stream>:{p<N-1>} (results and dead letters likewise), a user's transactions in partition CRC16(user_id) mod N; a worker reads them all, one consumer group each [PARTITIONS] (default 1: the streams themselves).")
    var partitions: Int?
    @Option(parsing: .unconditional, help: "Approximate MAXLEN of results and dead letters; 0 = no cap [MAX_STREAM_LENGTH] (default 1000000).")
    var maxStreamLength: Int?
    @Option(parsing: .unconditional, help: "Seconds a run's statistics keys live after the run's last write [STATS_TTL] (default 2592000).")
    var statsTtl: Int?
    @Option(parsing: .unconditional, help: "Seconds the fraud counts over time are kept (per minute; per second for at most an hour); 0 = not written [TIMESERIES_RETENTION] (default 86400).")
    var timeseriesRetention: Int?
    @Option(parsing: .unconditional, help: "How long SIGTERM/SIGINT may take to finish what is in flight, ms; a worker then leaves the rest pending and exits 75 [SHUTDOWN_TIMEOUT_MS] (default 5000).")
    var shutdownTimeoutMs: Int?
    @Option(parsing: .unconditional, help: "Refuse transactions whose timestamp is older than this, epoch ms (worker: dead letter; serve: 422) [EARLIEST_TIMESTAMP_MS] (default 946684800000 = 2000-01-01; catches epoch seconds).")
    var earliestTimestampMs: Int?
    @Option(parsing: .unconditional, help: "Refuse transactions whose timestamp is more than this far in the future, ms [MAX_CLOCK_SKEW_MS] (default 31622400000 = 366 days, as generate runs event time ahead; 86400000 for real traffic).")
    var maxClockSkewMs: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error [LOG_LEVEL] (default info).")
    var logLevel: String?
    @Option(parsing: .unconditional, help: "Largest acceptable amount; above it a transaction is refused (worker: dead letter amount_too_large; serve: 422) [MAX_AMOUNT] (default 1000000000).")
    var maxAmount: Double?
    @Option(help: "What each results entry carries: reviews (the feature vector of review decisions) or full (every decision's contract fields, rule set version and feature vector, for the archive) [RESULT_EVIDENCE] (default reviews).")
    var evidence: String?
    @Option(help: "Replace these identifiers by a keyed HMAC-SHA-256 before anything is stored: comma-separated user_id, device_id, ip [PSEUDONYMIZE] (default none).")
    var pseudonymize: String?
    @Option(help: "File of the pseudonymization key, at least 32 secret bytes [FRAUD_ID_KEY_FILE].")
    var idKeyFile: String?
    @Flag(help: "When Redis lost the namespace's state (its epoch key or the served model is gone), go on deciding from the model in memory instead of pausing until the namespace has a model again [KEEP_SERVING_ON_STATE_LOSS=1] (default off).")
    var keepServingOnStateLoss = false

    /// The flags given, by the setting each overrides.
    var flags: [Setting: String?] {
        [
            Settings.modelVersion: modelVersion.map(String.init), Settings.threshold: threshold.map { "\($0)" },
            Settings.reviewThreshold: reviewThreshold.map { "\($0)" }, Settings.resultsStream: resultsStream,
            Settings.partitions: partitions.map(String.init),
            Settings.maxStreamLength: maxStreamLength.map(String.init), Settings.statsTTL: statsTtl.map(String.init),
            Settings.timeSeriesRetention: timeseriesRetention.map(String.init),
            Settings.shutdownTimeoutMilliseconds: shutdownTimeoutMs.map(String.init),
            Settings.earliestTimestampMilliseconds: earliestTimestampMs.map(String.init),
            Settings.maxClockSkewMilliseconds: maxClockSkewMs.map(String.init), Settings.logLevel: logLevel,
            Settings.keepServingOnStateLoss: keepServingOnStateLoss ? "1" : nil, Settings.maxAmount: maxAmount.map { "\($0)" },
            Settings.pseudonymize: pseudonymize, Settings.idKeyFile: idKeyFile, Settings.resultEvidence: evidence,
        ]
    }
}
