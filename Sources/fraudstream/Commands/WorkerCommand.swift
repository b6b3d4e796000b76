import ArgumentParser
import FraudCore
import Foundation
import Logging
import RedisClient
import FraudServer
import ServiceLifecycle

/// `fraudstream worker`: score the input stream until SIGINT/SIGTERM.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Score transactions from the input stream and write decisions to the results stream.",
        discussion: """
            Every flag has an environment twin (in brackets) and a default. On SIGINT/SIGTERM the worker stops \
            reading, drains in-flight batches, acknowledges, flushes statistics and exits 0; if that takes longer \
            than --shutdown-timeout-ms, what is not acknowledged stays pending for another worker and it exits 75.

            Decisions: score >= --threshold → decline (is_fraud=1); else score >= --review-threshold → review; \
            else approve, except that the reasons ip_blocklist, impossible_travel and click_spam turn an approve \
            into review. A decline whose only reason is new_user also gets the reason model_score.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var decisions: DecisionOptions

    @Option(parsing: .unconditional, help: "Most entries per batch [BATCH_SIZE] (default 256).")
    var batchSize: Int?
    @Option(parsing: .unconditional, help: "How long a partial batch waits for more entries, ms [LINGER_MS] (default 0: send what one read returned).")
    var lingerMs: Int?
    @Option(parsing: .unconditional, help: "Parallel feature connections; one user always goes to the same one [FETCHERS] (default 1).")
    var fetchers: Int?
    @Option(parsing: .unconditional, help: "Parallel result-writer connections [WRITERS] (default 1).")
    var writers: Int?
    @Option(parsing: .unconditional, help: "Most batches between read and acknowledgement; reading stops at this bound [MAX_IN_FLIGHT] (default 4).")
    var maxInFlight: Int?
    @Option(parsing: .unconditional, help: "XREADGROUP BLOCK milliseconds [BLOCK_MS] (default 1000).")
    var blockMs: Int?
    @Option(help: "Consumer group [DEFAULT_CONSUMER_GROUP] (default inference_workers).")
    var consumerGroup: String?
    @Option(help: "Consumer name, unique per process [CONSUMER_NAME] (default <host>-<pid>).")
    var consumerName: String?
    @Option(parsing: .unconditional, help: "Worker processes under one supervisor that forwards signals [WORKERS] (default 1).")
    var workers: Int?
    @Option(parsing: .unconditional, help: "Claim entries idle this long in other consumers, ms [CLAIM_IDLE_MS] (default 30000).")
    var claimIdleMs: Int?
    @Option(parsing: .unconditional, help: "Dead-letter an entry delivered more often than this [MAX_DELIVERIES] (default 5).")
    var maxDeliveries: Int?
    @Option(help: "Lifetime of the consumer-name lease, renewed every third of it, ms [LEASE_TTL_MS] (default 10000).")
    var leaseTtlMs: Int?
    @Option(help: "Input stream [TRANSACTION_STREAM] (default <namespace>:transactions).")
    var stream: String?
    @Option(help: "Dead-letter stream [DEAD_LETTER_STREAM] (default <namespace>:dead_letters).")
    var deadLetterStream: String?
    @Option(parsing: .unconditional, help: "Seconds a per-transaction result key <namespace>:result:<id> lives; 0 = no key [RESULT_TTL] (default 0).")
    var resultTtl: Int?
    @Option(parsing: .unconditional, help: "Seconds all keys of a user without a profile live after its last transaction [UNKNOWN_USER_TTL] (default 604800).")
    var unknownUserTtl: Int?
    @Option(parsing: .unconditional, help: "Seconds a known user's window, devices, sketch and merchant slots live after its last transaction [USER_STATE_TTL] (default 2592000).")
    var userStateTtl: Int?
    @Flag(inversion: .prefixedNo, help: "With --workers N: start a child that died again, with backoff [RESTART_CHILDREN] (default on).")
    var restartChildren: Bool?
    @Flag(help: "Print throughput, in-flight batches and time per stage every 5 seconds [PROFILE=1].")
    var profile = false
    @Option(help: "The partitions this worker reads, comma-separated (e.g. 0,2) [PARTITION_SET] (default all).")
    var partitionSet: String?
    @Option(parsing: .unconditional, help: "Serve Prometheus metrics on this port at GET /metrics; with --workers N, child i listens on port+i-1 [METRICS_PORT] (default: no listener).")
    var metricsPort: Int?
    @Option(parsing: .unconditional, help: "Seconds a transaction's decision is kept, so a duplicate or a retry (on either path) gets it back instead of a new one [IDEMPOTENCY_TTL] (default 86400).")
    var idempotencyTtl: Int?
    @Option(help: "Address the metrics listener binds [METRICS_HOST] (default 127.0.0.1; 0.0.0.0 for a Prometheus on another host).")
    var metricsHost: String?

    /// The flags given, by the setting each overrides.
    var flags: [Setting: String?] {
        [
            Settings.batchSize: batchSize.map(String.init), Settings.lingerMilliseconds: lingerMs.map(String.init),
            Settings.fetchers: fetchers.map(String.init), Settings.writers: writers.map(String.init),
            Settings.maxInFlight: maxInFlight.map(String.init), Settings.blockMilliseconds: blockMs.map(String.init),
            Settings.consumerGroup: consumerGroup, Settings.consumerName: consumerName, Settings.workers: workers.map(String.init),
            Settings.claimIdleMilliseconds: claimIdleMs.map(String.init),
            Settings.maxDeliveries: maxDeliveries.map(String.init), Settings.leaseTTLMilliseconds: leaseTtlMs.map(String.init),
            Settings.transactionStream: stream, Settings.deadLetterStream: deadLetterStream,
            Settings.resultTTL: resultTtl.map(String.init),
            Settings.unknownUserTTL: unknownUserTtl.map(String.init), Settings.userStateTTL: userStateTtl.map(String.init),
            Settings.profile: profile ? "1" : nil, Settings.metricsPort: metricsPort.map(String.init), Settings.metricsHost: metricsHost,
            Settings.partitionSet: partitionSet, Settings.restartChildren: restartChildren.map { $0 ? "1" : "0" },
            Settings.idempotencyTTL: idempotencyTtl.map(String.init),
        ]
    }

    /// Flags over environment over defaults, resolved in one place.
    var settings: SettingsResolver { .command(connection.flags, namespace.flags, decisions.flags, flags) }

    /// The worker's configuration.
    func workerConfiguration() throws(FraudError) -> WorkerConfiguration {
        try WorkerConfiguration.resolve(settings, defaultConsumerName: "\(ProcessInfo.processInfo.hostName)-\(getpid())")
    }

    func run() async throws {
        WorkerProcesses.followParent()
        let settings = self.settings
        var configuration = try workerConfiguration()
        configuration.exitsPastShutdownDeadline = true
        configuration.leaseToken = ProcessInfo.processInfo.environment[WorkerProcesses.leaseTokenVariable].flatMap { $0.isEmpty ? nil : $0 }
        let processCount = try settings.integer(Settings.workers, in: 1...64) ?? 1
        let metricsPort = try settings.integer(Settings.metricsPort, in: 0...65_535)
        let metricsHost = settings.string(Settings.metricsHost) ?? "127.0.0.1"
        try bootstrapLogging(settings)
        let logger = Logger(label: "fraudstream.worker")
        if processCount > 1 {
            // An unreachable Redis is said once, here, not by every child.
            _ = try await RedisConnection.connect(try connection.configuration(settings, name: "fraudstream-supervisor"))
            let restart = try settings.boolean(Settings.restartChildren) ?? true
            let code = try await WorkerSupervisor(
                count: processCount, baseName: configuration.consumerName, restartChildren: restart, metricsPort: metricsPort,
                logger: logger
            ).run()
            if code != 0 { throw ExitCode(code) }
            return
        }
        let worker = Worker(configuration: configuration, redis: try connection.configuration(settings), logger: logger)
        let endpoint = metricsPort.map { port in
            { @Sendable (metrics: FraudMetrics) -> any Service in
                MetricsEndpoint(metrics: metrics, host: metricsHost, port: port, logger: logger)
            }
        }
        try await worker.run(metricsEndpoint: endpoint)
    }
}
