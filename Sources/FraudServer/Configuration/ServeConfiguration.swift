import Foundation
import FraudCore

/// Everything `fraudstream serve` needs to know; each value has a flag, an environment twin and a default.
public struct ServeConfiguration: Sendable, Equatable {
    /// Address to listen on (`HOST`).
    public var host = "127.0.0.1"
    /// Port to listen on (`PORT`); 0 picks a free one (tests).
    public var port = 8080
    /// Most transactions admitted and not yet finished; past it requests get `503` (`API_MAX_IN_FLIGHT`).
    public var maxInFlight = 4_096
    /// How long a request may wait for features before it is answered degraded (`DEADLINE_MS`).
    public var deadlineMilliseconds = 20
    /// The decision of a degraded answer (`ON_TIMEOUT`): `approve`, `review` or `decline`.
    public var onTimeout = "review"
    /// Whether requests need an API key (`keys`, the default) or not (`off`: local demos only).
    public var authRequired = true
    /// A connection with no complete request part read or written for this long is closed (`IDLE_TIMEOUT_MS`): idle
    /// keep-alive connections, and a request whose headers never finish (slowloris).
    public var idleTimeoutMilliseconds = 30_000
    /// A request whose body has not been read in full this long after its head is answered by closing the connection
    /// (`REQUEST_TIMEOUT_MS`): a body trickled in part by part (each part restarts the idle timer) is still bounded.
    public var requestTimeoutMilliseconds = 60_000
    /// Most open connections (`MAX_CONNECTIONS`); past it new ones wait in the listen backlog until one closes.
    public var maxConnections = 10_000
    /// Admin requests (blocklist changes) per second per key (`ADMIN_RATE_LIMIT`), in bursts of up to twice that.
    public var adminRequestsPerSecond = 10
    /// A JWKS file whose keys sign the bearer JWTs accepted beside API keys (`JWKS_FILE`); nil: none are.
    public var jwksFile: String?
    /// The `iss` and `aud` such a token must carry (`JWT_ISSUER`, `JWT_AUDIENCE`).
    public var jwtIssuer: String?
    public var jwtAudience: String?
    /// The claim holding a token's scopes (`JWT_SCOPE_CLAIM`, default `scope`).
    public var jwtScopeClaim = "scope"
    /// HTTPS: the server's certificate chain and private key, PEM files (`TLS_CERT`, `TLS_KEY`); nil: plain HTTP.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Client certificates signed by this CA (PEM) are required (`TLS_CLIENT_CA`): mutual TLS.
    public var tlsClientCA: String?
    /// Most transactions per lane round trip (`API_BATCH_SIZE`).
    public var batchSize = 128
    /// Scoring lanes, each with its own Redis connection; one user always goes to the same one (`FETCHERS`).
    public var lanes = 2
    /// Seconds a transaction's first decision is kept for retries (`IDEMPOTENCY_TTL`).
    public var idempotencyTTLSeconds = 86_400
    /// The id written as `worker_id` with the API's results and statistics (`SERVER_ID`).
    public var serverId = "api"
    /// The product version it announces (``ServerRegistry``).
    public var productVersion = "dev"
    /// Score at or above which a transaction is declined (`FRAUD_THRESHOLD`).
    public var threshold = 0.7
    /// Score at or above which the decision is at least review (`REVIEW_THRESHOLD`).
    public var reviewThreshold = 0.3
    /// Serve this model version and ignore promotions (`MODEL_VERSION`).
    public var pinnedModelVersion: Int?
    /// Names of the streams (results) and the namespace.
    public var streams = StreamNames()
    /// Approximate cap of the results stream (`MAX_STREAM_LENGTH`).
    public var maxStreamLength = 1_000_000
    /// TTL of the statistics keys (`STATS_TTL`).
    public var statsTTLSeconds = RunStatisticsKeys.defaultTTLSeconds
    /// How long the fraud counts over time are kept, s (`TIMESERIES_RETENTION`); 0 writes none.
    public var timeSeriesRetentionSeconds = TimeSeriesKeys.defaultRetentionSeconds
    /// How long SIGTERM/SIGINT may take to finish in-flight requests and flush (`SHUTDOWN_TIMEOUT_MS`).
    public var shutdownTimeoutMilliseconds = 5_000
    /// Whether the process ends (exit 75, one line) when a shutdown outlasts ``shutdownTimeoutMilliseconds``: set by
    /// the `serve` command, never by in-process hosts such as tests. See ``ShutdownDeadline``.
    public var exitsPastShutdownDeadline = false
    /// Go on deciding from memory when Redis lost the namespace's state (`KEEP_SERVING_ON_STATE_LOSS`).
    public var keepServingOnStateLoss = false
    /// The largest acceptable amount (`MAX_AMOUNT`).
    public var maxAmount = TransactionParser.defaultMaximumAmount
    /// Every results entry carries the transaction's contract fields and feature vector (`RESULT_EVIDENCE=full`).
    public var fullEvidence = false
    /// Identifiers replaced by a keyed HMAC before anything is stored (`PSEUDONYMIZE`, `FRAUD_ID_KEY_FILE`), or nil.
    public var pseudonymizer: Pseudonymizer?
    /// The decision journal's file (`DECISION_JOURNAL`); `nil`: ``defaultJournalPath``.
    public var decisionJournalPath: String?
    /// Most decisions the journal keeps (`DECISION_JOURNAL_CAPACITY`).
    public var decisionJournalCapacity = 100_000

    /// `$XDG_STATE_HOME` (else `~/.local/state`) `/fraudstream/decision-journal-<namespace>-<port>.jsonl`. A server on
    /// port 0 (any free port: tests, scripts) has no stable name, so its journal is a temporary file of its own, not
    /// found again after a restart.
    public var defaultJournalPath: String {
        if port == 0 {
            return FileManager.default.temporaryDirectory
                .appendingPathComponent("fraudstream-journal-\(namespace)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl").path
        }
        let environment = ProcessInfo.processInfo.environment
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.local/state")
        return "\(state)/fraudstream/decision-journal-\(namespace)-\(port).jsonl"
    }
    /// The oldest plausible event time, epoch ms (`EARLIEST_TIMESTAMP_MS`).
    public var earliestTimestampMilliseconds = Int(EntryValidator.defaultEarliestTimestampMilliseconds)
    /// How far in the future an event time may be, ms (`MAX_CLOCK_SKEW_MS`).
    public var maxClockSkewMilliseconds = Int(EntryValidator.defaultMaxClockSkewMilliseconds)
    /// Feature definitions shared with training and the worker.
    public var features = FeatureSettings()
    /// Longest a lane waits for one Redis round trip before it drops the connection (`REDIS_TIMEOUT_MS`);
    /// requests are answered degraded at their deadline long before, but a batch not written by then is not
    /// recorded.
    public var redisTimeoutMilliseconds = 1_000
    /// The lanes' Redis connections live on the HTTP server's event loop (`loop`), so a request is read, decided and
    /// answered on one thread; `threads` gives each its own blocking thread (and the HTTP server NIO's shared loops).
    /// A cluster or TLS to Redis always uses threads.
    public var redisIOOnEventLoop = true
    /// How often promotions and the blocklist's shape are checked, ms.
    public var modelCheckMilliseconds = 1_000

    /// The decisions `--on-timeout` accepts.
    public static let timeoutDecisions = ["approve", "review", "decline"]

    /// Creates the defaults.
    public init() {}

    /// The key namespace.
    public var namespace: String { streams.namespace }

    static var integerSettings: [(setting: Setting, range: ClosedRange<Int>, value: WritableKeyPath<ServeConfiguration, Int>)] {
        [
            (ServeSettings.port, 0...65_535, \.port),
            (ServeSettings.maxInFlight, 1...1_000_000, \.maxInFlight),
            (ServeSettings.deadlineMilliseconds, 1...60_000, \.deadlineMilliseconds),
            (ServeSettings.batchSize, 1...10_000, \.batchSize),
            (Settings.fetchers, 1...64, \.lanes),
            (ServeSettings.idempotencyTTL, 1...Settings.maximumTTLSeconds, \.idempotencyTTLSeconds),
            (ServeSettings.redisTimeoutMilliseconds, 10...600_000, \.redisTimeoutMilliseconds),
            (ServeSettings.decisionJournalCapacity, 1...100_000_000, \.decisionJournalCapacity),
            (ServeSettings.idleTimeoutMilliseconds, 100...3_600_000, \.idleTimeoutMilliseconds),
            (ServeSettings.requestTimeoutMilliseconds, 100...3_600_000, \.requestTimeoutMilliseconds),
            (ServeSettings.maxConnections, 1...1_000_000, \.maxConnections),
            (ServeSettings.adminRateLimit, 1...100_000, \.adminRequestsPerSecond),
            (Settings.maxStreamLength, 0...Int.max, \.maxStreamLength),
            (Settings.statsTTL, 1...Settings.maximumTTLSeconds, \.statsTTLSeconds),
            (Settings.timeSeriesRetention, 0...Settings.maximumTTLSeconds, \.timeSeriesRetentionSeconds),
            (Settings.shutdownTimeoutMilliseconds, 100...600_000, \.shutdownTimeoutMilliseconds),
            (Settings.earliestTimestampMilliseconds, 0...4_102_444_800_000, \.earliestTimestampMilliseconds),
            (Settings.maxClockSkewMilliseconds, 0...3_153_600_000_000, \.maxClockSkewMilliseconds),
        ]
    }

    /// Flags over environment over defaults, each value checked.
    public static func resolve(_ settings: SettingsResolver, defaultServerId: String) throws(FraudError) -> ServeConfiguration {
        var configuration = ServeConfiguration()
        _ = try settings.integer(Settings.partitions, in: 1...1_024)
        // Named as on a single server until the server connects and learns whether Redis is a cluster (ScoringServer.assemble).
        configuration.streams = StreamNames(resolving: settings, serverIsCluster: false)
        configuration.features = try FeatureSettings.resolve(settings)
        configuration.features.namespace = configuration.streams.namespace
        configuration.host = settings.string(ServeSettings.host) ?? configuration.host
        configuration.serverId = settings.string(ServeSettings.serverId) ?? defaultServerId
        for entry in integerSettings {
            if let value = try settings.integer(entry.setting, in: entry.range) { configuration[keyPath: entry.value] = value }
        }
        if let value = try settings.choice(ServeSettings.onTimeout, of: timeoutDecisions) { configuration.onTimeout = value }
        if let value = try settings.choice(ServeSettings.auth, of: ["keys", "off"]) { configuration.authRequired = value == "keys" }
        if let value = try settings.choice(ServeSettings.redisIO, of: ["loop", "threads"]) { configuration.redisIOOnEventLoop = value == "loop" }
        if let value = try settings.decimal(Settings.threshold, in: 0...1) { configuration.threshold = value }
        if let value = try settings.decimal(Settings.reviewThreshold, in: 0...1) { configuration.reviewThreshold = value }
        if let value = try settings.integer(Settings.modelVersion, in: 1...Int.max) { configuration.pinnedModelVersion = value }
        if let value = try settings.boolean(Settings.keepServingOnStateLoss) { configuration.keepServingOnStateLoss = value }
        if let value = try settings.decimal(Settings.maxAmount, in: 0.01...1e15) { configuration.maxAmount = value }
        if let value = try settings.choice(Settings.resultEvidence, of: ["reviews", "full"]) { configuration.fullEvidence = value == "full" }
        configuration.pseudonymizer = try Pseudonymizer.resolve(settings)
        if let value = settings.string(ServeSettings.decisionJournal), !value.isEmpty { configuration.decisionJournalPath = value }
        configuration.jwksFile = settings.string(ServeSettings.jwksFile).flatMap { $0.isEmpty ? nil : $0 }
        configuration.jwtIssuer = settings.string(ServeSettings.jwtIssuer)
        configuration.jwtAudience = settings.string(ServeSettings.jwtAudience)
        if let claim = settings.string(ServeSettings.jwtScopeClaim), !claim.isEmpty { configuration.jwtScopeClaim = claim }
        configuration.tlsCertificate = settings.string(ServeSettings.tlsCertificate).flatMap { $0.isEmpty ? nil : $0 }
        configuration.tlsKey = settings.string(ServeSettings.tlsKey).flatMap { $0.isEmpty ? nil : $0 }
        configuration.tlsClientCA = settings.string(ServeSettings.tlsClientCA).flatMap { $0.isEmpty ? nil : $0 }
        if (configuration.tlsCertificate == nil) != (configuration.tlsKey == nil) {
            throw FraudError(.invalidSetting, "--tls-cert and --tls-key go together: the certificate chain and its private key (PEM files)")
        }
        if configuration.tlsClientCA != nil, configuration.tlsCertificate == nil {
            throw FraudError(.invalidSetting, "--tls-client-ca needs --tls-cert and --tls-key: client certificates are checked over HTTPS")
        }
        if configuration.jwksFile != nil, (configuration.jwtIssuer ?? "").isEmpty || (configuration.jwtAudience ?? "").isEmpty {
            throw FraudError(.invalidSetting, "--jwks needs --jwt-issuer and --jwt-audience: a token is accepted only from that issuer, for that audience")
        }
        if configuration.serverId.isEmpty { throw FraudError(.invalidSetting, "\(ServeSettings.serverId) must not be empty") }
        return configuration
    }

    /// The validator the API checks transactions with, the worker's rules.
    public var validator: EntryValidator {
        EntryValidator(
            maxDeliveries: 1, earliestTimestampMilliseconds: Int64(earliestTimestampMilliseconds),
            maxClockSkewMilliseconds: Int64(maxClockSkewMilliseconds), maximumAmount: maxAmount, pseudonymizer: pseudonymizer)
    }
}

/// The settings only `fraudstream serve` has, named once.
public enum ServeSettings {
    /// Listen address.
    public static let host = Setting("HOST", flag: "host")
    /// Listen port.
    public static let port = Setting("PORT", flag: "port")
    /// Transactions admitted at once.
    public static let maxInFlight = Setting("API_MAX_IN_FLIGHT", flag: "max-in-flight")
    /// Feature deadline per request.
    public static let deadlineMilliseconds = Setting("DEADLINE_MS", flag: "deadline-ms")
    /// Decision of a degraded answer.
    public static let onTimeout = Setting("ON_TIMEOUT", flag: "on-timeout")
    /// `keys`: every endpoint but the health checks needs an API key; `off`: none does (local demos only).
    public static let auth = Setting("API_AUTH", flag: "auth")
    /// Idle (and unfinished-request) connection timeout.
    public static let idleTimeoutMilliseconds = Setting("IDLE_TIMEOUT_MS", flag: "idle-timeout-ms")
    /// Longest time from a request's head to its last body byte.
    public static let requestTimeoutMilliseconds = Setting("REQUEST_TIMEOUT_MS", flag: "request-timeout-ms")
    /// Most open connections.
    public static let maxConnections = Setting("MAX_CONNECTIONS", flag: "max-connections")
    /// Admin requests per second per key.
    public static let adminRateLimit = Setting("ADMIN_RATE_LIMIT", flag: "admin-rate-limit")
    /// Bearer JWTs: the JWKS file, the issuer, the audience and the scope claim.
    public static let jwksFile = Setting("JWKS_FILE", flag: "jwks")
    public static let jwtIssuer = Setting("JWT_ISSUER", flag: "jwt-issuer")
    public static let jwtAudience = Setting("JWT_AUDIENCE", flag: "jwt-audience")
    public static let jwtScopeClaim = Setting("JWT_SCOPE_CLAIM", flag: "jwt-scope-claim")
    /// HTTPS: certificate chain, private key, and the CA of required client certificates.
    public static let tlsCertificate = Setting("TLS_CERT", flag: "tls-cert")
    public static let tlsKey = Setting("TLS_KEY", flag: "tls-key")
    public static let tlsClientCA = Setting("TLS_CLIENT_CA", flag: "tls-client-ca")
    /// Transactions per lane round trip.
    public static let batchSize = Setting("API_BATCH_SIZE", flag: "batch-size")
    /// How long first decisions are kept for retries.
    public static let idempotencyTTL = Settings.idempotencyTTL
    /// Longest wait for one lane round trip.
    public static let redisTimeoutMilliseconds = Setting("REDIS_TIMEOUT_MS", flag: "redis-timeout-ms")
    /// Where the lanes' Redis I/O runs: `loop` (on the HTTP event loop) or `threads` (a blocking thread per connection).
    public static let redisIO = Setting("REDIS_IO", flag: "redis-io")
    /// The server's id in results and statistics.
    public static let serverId = Setting("SERVER_ID", flag: "server-id")
    /// The decision journal's file (``DecisionJournal``).
    public static let decisionJournal = Setting("DECISION_JOURNAL", flag: "decision-journal")
    /// Most decisions the journal keeps.
    public static let decisionJournalCapacity = Setting("DECISION_JOURNAL_CAPACITY", flag: "decision-journal-capacity")
}
