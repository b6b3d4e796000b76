import Logging
import RedisClient
import ServiceLifecycle

/// Reads the input stream through the consumer group on its own connection, and hands each read
/// to the batcher, which asks for it (``read(count:blockMilliseconds:)``).
///
/// Where entries come from is decided by ``ClaimState``: its own pending entries first (a restart
/// with the same name, or a lost reply), then entries that crashed or stalled consumers left idle
/// (`XAUTOCLAIM`, with delivery counts from `XPENDING` for the `--max-deliveries` check), then new
/// entries (`XREADGROUP … BLOCK`). It is the stage that reacts to graceful shutdown: once shutdown
/// begins it reads nothing more, so the batcher finishes and the stages behind it drain.
public actor Consumer {
    private let configuration: WorkerConfiguration
    private let connection: RedisConnection
    private let logger: Logger
    private let counters: PipelineCounters
    private var claims: ClaimState
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    /// Entries read so far, from every source.
    public private(set) var entriesRead = 0
    /// Entries taken over from other consumers.
    public private(set) var entriesClaimed = 0
    /// Dead consumers removed from the group (``IdleConsumerRemoval``).
    public private(set) var consumersRemoved = 0
    private let idleConsumerRemoval: IdleConsumerRemoval

    /// Transient failures (Redis restarting or loading, a lost connection) are retried from 100 ms to 5 s.
    static let retryPolicy = RetryPolicy(maximumAttempts: nil, initialBackoffMilliseconds: 100, maximumBackoffMilliseconds: 5_000)

    /// Runs on the connection's thread, so its Redis calls need no thread hop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { connection.executor.asUnownedSerialExecutor() }

    /// Creates a consumer on its own connection.
    public init(configuration: WorkerConfiguration, connection: RedisConnection, counters: PipelineCounters, logger: Logger) {
        self.counters = counters
        self.configuration = configuration
        self.connection = connection
        self.logger = logger
        self.claims = ClaimState(autoClaimIntervalMilliseconds: max(100, configuration.claimIdleMilliseconds / 2), removesIdleConsumers: true)
        self.idleConsumerRemoval = IdleConsumerRemoval(
            streams: configuration.streams, ownName: configuration.consumerName,
            minimumIdleMilliseconds: configuration.idleConsumerRemovalMilliseconds, logger: logger)
        self.origin = clock.now
    }

    /// Creates the consumer group (from the start of the stream, so nothing published before the
    /// first worker started is missed) unless it exists.
    public func ensureGroup() async throws(RedisError) {
        do {
            try await connection.send(
                RedisCommand("XGROUP", "CREATE", configuration.transactionStream, configuration.consumerGroup, "0", "MKSTREAM"))
            logger.info("created consumer group", metadata: ["group": "\(configuration.consumerGroup)"])
        } catch where error.serverErrorPrefix == "BUSYGROUP" {
            return
        }
    }

    /// Up to `count` entries, waiting at most `blockMilliseconds` for new ones; `[]` when none came.
    ///
    /// Returns `nil` once graceful shutdown has begun (also while waiting to retry a failed read):
    /// the consumer has stopped reading. A read under way is never interrupted, as a lost reply
    /// would leave delivered entries pending until someone claims them.
    public func read(count: Int, blockMilliseconds: Int) async throws(RedisError) -> [DeliveredEntry]? {
        if Task.isShuttingDownGracefully || Task.isCancelled { return nil }
        do {
            let entries = try await Self.retryPolicy.run(
                "reading the input stream", logger: logger,
                recover: { error async throws(RedisError) -> Bool in
                    claims.readFailed()
                    if error.serverErrorPrefix == "NOGROUP" {
                        // The stream or group was deleted under us: create it again and read on, unless Redis lost
                        // the namespace's whole state (it restarted empty): then wait until it is back (StateGuard).
                        if !configuration.keepServingOnStateLoss {
                            try await NamespaceEpoch(namespace: configuration.namespace).waitUntilPresent(on: connection)
                        }
                        try await ensureGroup()
                        return true
                    }
                    return false
                },
                sleep: { duration in
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
                }
            ) { () async throws(RedisError) -> [DeliveredEntry] in
                try await nextEntries(count: count, blockMilliseconds: blockMilliseconds)
            }
            entriesRead += entries.count
            return entries
        } catch where error.code == .cancelled && (Task.isShuttingDownGracefully || Task.isCancelled) {
            return nil
        }
    }

    private var nowMilliseconds: Int64 { (clock.now - origin).microseconds / 1000 }

    private func nextEntries(count: Int, blockMilliseconds: Int) async throws(RedisError) -> [DeliveredEntry] {
        while true {
            switch claims.next(nowMilliseconds: nowMilliseconds) {
            case .recoverOwn(let start):
                let (own, lastPendingId) = try await recoverOwn(from: start, count: count)
                claims.recoveredOwn(lastId: lastPendingId)
                if !own.isEmpty {
                    return own
                }
            case .autoClaim(let start):
                let stale = try await autoClaim(from: start, count: count)
                if !stale.isEmpty {
                    entriesClaimed += stale.count
                    logger.info("claimed entries idle in other consumers", metadata: ["count": "\(stale.count)"])
                    return stale
                }
            case .removeIdleConsumers:
                let removed = await idleConsumerRemoval.run(on: connection)
                consumersRemoved += removed.count
            case .readNew:
                let entries = try await readNew(count: count, blockMilliseconds: blockMilliseconds)
                claims.readNew(lastId: entries.last?.id)
                return entries
            }
        }
    }

    private func readNew(count: Int, blockMilliseconds: Int) async throws(RedisError) -> [DeliveredEntry] {
        let read = XReadGroup(
            group: configuration.consumerGroup, consumer: configuration.consumerName, count: count,
            blockMilliseconds: blockMilliseconds, streams: [(configuration.transactionStream, ">")])
        let reply = try await connection.send(
            read, timeoutMilliseconds: blockMilliseconds + connection.configuration.commandTimeoutMilliseconds)
        counters.readRoundTrip()
        return reply.flatMap(\.entries).map { DeliveredEntry($0) }
    }

    /// Takes over entries idle longer than `--claim-idle-ms` in any consumer with `XAUTOCLAIM`,
    /// then reads their delivery counts with `XPENDING`.
    private func autoClaim(from start: String, count: Int) async throws(RedisError) -> [DeliveredEntry] {
        let reply = try await connection.send(
            XAutoClaim(
                stream: configuration.transactionStream, group: configuration.consumerGroup, consumer: configuration.consumerName,
                minimumIdleMilliseconds: configuration.claimIdleMilliseconds, start: start, count: count))
        claims.autoClaimed(nextStart: reply.nextStart)
        if !reply.deletedIds.isEmpty {
            logger.warning("pending entries were deleted from the stream before processing", metadata: ["count": "\(reply.deletedIds.count)"])
        }
        guard let bounds = StreamID.bounds(of: reply.entries.map(\.id)) else { return [] }
        let pending = try await connection.send(
            XPendingRange(
                stream: configuration.transactionStream, group: configuration.consumerGroup, start: bounds.lowest,
                end: bounds.highest, count: reply.entries.count * 2 + 100, consumer: configuration.consumerName))
        var deliveries: [String: Int] = [:]
        for entry in pending { deliveries[entry.id] = entry.deliveries }
        return reply.entries.map { DeliveredEntry($0, deliveries: deliveries[$0.id] ?? 1) }
    }

    /// Claims this consumer's own pending entries from `start` (any idle time), counting this delivery;
    /// also returns the last pending id looked at (`nil` when none was left).
    private func recoverOwn(from start: String, count: Int) async throws(RedisError) -> ([DeliveredEntry], String?) {
        let pending = try await connection.send(
            XPendingRange(
                stream: configuration.transactionStream, group: configuration.consumerGroup, minimumIdleMilliseconds: 0,
                start: start, count: count, consumer: configuration.consumerName))
        guard let last = pending.last?.id else { return ([], nil) }
        let claimed = try await connection.send(
            XClaim(
                stream: configuration.transactionStream, group: configuration.consumerGroup, consumer: configuration.consumerName,
                minimumIdleMilliseconds: 0, ids: pending.map(\.id)))
        var deliveries: [String: Int] = [:]
        for entry in pending { deliveries[entry.id] = entry.deliveries + 1 }  // XCLAIM counts this delivery
        return (claimed.map { DeliveredEntry($0, deliveries: deliveries[$0.id] ?? 1) }, last)
    }
}
