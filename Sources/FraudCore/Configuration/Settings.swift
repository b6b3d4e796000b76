/// Every setting of the product, named once: environment names follow the reference pipeline.
public enum Settings {
    /// The longest TTL any setting accepts: ten years, in seconds (so milliseconds never overflow).
    public static let maximumTTLSeconds = 315_360_000
    /// `REDIS_URL`: `redis://[user:password@]host:port[/db]` or `unix:///path`.
    public static let redisURL = Setting("REDIS_URL", flag: "redis-url")
    /// `REDIS_HOST`, used when `REDIS_URL` is not set.
    public static let redisHost = Setting("REDIS_HOST")
    /// `REDIS_PORT`, used when `REDIS_URL` is not set.
    public static let redisPort = Setting("REDIS_PORT")
    /// `REDIS_PASSWORD`.
    public static let redisPassword = Setting("REDIS_PASSWORD")
    /// `REDIS_CA`: PEM CA that signed the Redis server's certificate (`rediss://` only; default the system's roots).
    public static let redisCA = Setting("REDIS_CA", flag: "redis-ca")
    /// `REDIS_CERT`: PEM client certificate for Redis servers that want one (mutual TLS).
    public static let redisCertificate = Setting("REDIS_CERT", flag: "redis-cert")
    /// `REDIS_KEY`: PEM key of the client certificate.
    public static let redisKey = Setting("REDIS_KEY", flag: "redis-key")
    /// `REDIS_TLS_SERVER_NAME`: the name the Redis server's certificate must carry (default the host).
    public static let redisTLSServerName = Setting("REDIS_TLS_SERVER_NAME", flag: "redis-tls-server-name")
    /// Partitions of the input stream: `<stream>:{p<i>}` for i in 0..<N, a user's transactions in partition
    /// CRC16(user_id) mod N.
    public static let partitions = Setting("PARTITIONS", flag: "partitions")
    /// The partitions a worker reads (comma-separated indices); default all.
    public static let partitionSet = Setting("PARTITION_SET", flag: "partition-set")
    /// Redis Cluster: 1 = the server must be a cluster node and the default stream names carry the hash tag
    /// `{p0}`; 0 = never ask; unset = ask the server (`INFO cluster`) and route over a cluster when it is one.
    public static let redisCluster = Setting("REDIS_CLUSTER", flag: "cluster")
    /// Key namespace.
    public static let namespace = Setting("NAMESPACE", flag: "namespace")
    /// Input stream.
    public static let transactionStream = Setting("TRANSACTION_STREAM", flag: "stream")
    /// Results stream.
    public static let resultsStream = Setting("FRAUD_RESULTS_STREAM", flag: "results-stream")
    /// Dead-letter stream.
    public static let deadLetterStream = Setting("DEAD_LETTER_STREAM", flag: "dead-letter-stream")
    /// Consumer group.
    public static let consumerGroup = Setting("DEFAULT_CONSUMER_GROUP", flag: "consumer-group")
    /// Consumer name within the group.
    public static let consumerName = Setting("CONSUMER_NAME", flag: "consumer-name")
    /// Cap of results and dead letters, and length above which acknowledged input is trimmed.
    public static let maxStreamLength = Setting("MAX_STREAM_LENGTH", flag: "max-stream-length")
    /// What a results-stream entry carries: `reviews` (the feature vector of review decisions only) or `full` (every
    /// decision's contract fields and feature vector, for the archive).
    public static let resultEvidence = Setting("RESULT_EVIDENCE", flag: "evidence")
    /// Seconds a per-transaction result key lives; 0 (the default) writes no such key.
    public static let resultTTL = Setting("RESULT_TTL", flag: "result-ttl")
    /// Seconds the state of a user without a profile lives after the user's last transaction.
    public static let unknownUserTTL = Setting("UNKNOWN_USER_TTL", flag: "unknown-user-ttl")
    /// Seconds a known user's dynamic feature state lives after the user's last transaction.
    public static let userStateTTL = Setting("USER_STATE_TTL", flag: "user-state-ttl")
    /// Seconds the statistics keys of a run live after the run's last write.
    public static let statsTTL = Setting("STATS_TTL", flag: "stats-ttl")
    /// Port of the worker's Prometheus listener (`GET /metrics`); unset = no listener.
    public static let metricsPort = Setting("METRICS_PORT", flag: "metrics-port")
    /// Address the worker's Prometheus listener binds.
    public static let metricsHost = Setting("METRICS_HOST", flag: "metrics-host")
    /// Seconds the fraud counts over time (per minute; per second at most an hour) are kept; 0 = not written.
    public static let timeSeriesRetention = Setting("TIMESERIES_RETENTION", flag: "timeseries-retention")
    /// Score at or above which a transaction is fraud (decline).
    public static let threshold = Setting("FRAUD_THRESHOLD", flag: "threshold")
    /// Score at or above which the decision is review.
    public static let reviewThreshold = Setting("REVIEW_THRESHOLD", flag: "review-threshold")
    /// Entries per batch.
    public static let batchSize = Setting("BATCH_SIZE", flag: "batch-size")
    /// Linger of a partial batch.
    public static let lingerMilliseconds = Setting("LINGER_MS", flag: "linger-ms")
    /// Feature connections.
    public static let fetchers = Setting("FETCHERS", flag: "fetchers")
    /// Result-writer connections.
    public static let writers = Setting("WRITERS", flag: "writers")
    /// Batches between read and acknowledgement.
    public static let maxInFlight = Setting("MAX_IN_FLIGHT", flag: "max-in-flight")
    /// `XREADGROUP … BLOCK` milliseconds.
    public static let blockMilliseconds = Setting("BLOCK_MS", flag: "block-ms")
    /// Idle time after which other consumers' entries are claimed.
    public static let claimIdleMilliseconds = Setting("CLAIM_IDLE_MS", flag: "claim-idle-ms")
    /// Milliseconds a worker's consumer-name lease lives without renewal.
    public static let leaseTTLMilliseconds = Setting("LEASE_TTL_MS", flag: "lease-ttl-ms")
    /// Deliveries after which an entry is dead-lettered.
    public static let maxDeliveries = Setting("MAX_DELIVERIES", flag: "max-deliveries")
    /// A pinned model version.
    public static let modelVersion = Setting("MODEL_VERSION", flag: "model-version")
    /// Worker processes under one supervisor.
    public static let workers = Setting("WORKERS", flag: "workers")
    /// Whether `--workers N` restarts a child that died.
    public static let restartChildren = Setting("RESTART_CHILDREN", flag: "restart-children")
    /// Profile output every few seconds.
    public static let profile = Setting("PROFILE", flag: "profile")
    /// How long a transaction's decision is kept for duplicates and retries (``DecisionClaim``), s.
    public static let idempotencyTTL = Setting("IDEMPOTENCY_TTL", flag: "idempotency-ttl")
    /// Identifiers replaced by a keyed HMAC before anything is stored: a comma-separated subset of user_id,
    /// device_id, ip (``Pseudonymizer``).
    public static let pseudonymize = Setting("PSEUDONYMIZE", flag: "pseudonymize")
    /// The file holding the pseudonymization key (at least 32 secret bytes).
    public static let idKeyFile = Setting("FRAUD_ID_KEY_FILE", flag: "id-key-file")
    /// The largest acceptable transaction amount.
    public static let maxAmount = Setting("MAX_AMOUNT", flag: "max-amount")
    /// Go on deciding from memory when Redis lost the namespace's state (``StateGuard``).
    public static let keepServingOnStateLoss = Setting("KEEP_SERVING_ON_STATE_LOSS", flag: "keep-serving-on-state-loss")
    /// How long a graceful shutdown may take before in-flight work is abandoned (left pending).
    public static let shutdownTimeoutMilliseconds = Setting("SHUTDOWN_TIMEOUT_MS", flag: "shutdown-timeout-ms")
    /// The oldest plausible transaction timestamp, epoch ms.
    public static let earliestTimestampMilliseconds = Setting("EARLIEST_TIMESTAMP_MS", flag: "earliest-timestamp-ms")
    /// How far in the future a transaction timestamp may be, ms.
    public static let maxClockSkewMilliseconds = Setting("MAX_CLOCK_SKEW_MS", flag: "max-clock-skew-ms")
    /// Log level.
    public static let logLevel = Setting("LOG_LEVEL", flag: "log-level")
    /// Device events in the window at which `click_spam` fires.
    public static let clickSpamThreshold = Setting("CLICK_SPAM_THRESHOLD")
    /// The click-spam window in seconds.
    public static let clickSpamWindowSeconds = Setting("CLICK_SPAM_WINDOW_IN_SEC")
}
