import Logging
import RedisClient
import ServiceLifecycle

/// Reads the input stream through the consumer group: new entries with `XREADGROUP … BLOCK`, and
/// entries that crashed or stalled consumers left pending with `XPENDING` + `XCLAIM`.
///
/// It takes an in-flight permit before every read, so it stops reading when the pipeline is full.
/// It is the only stage that reacts to graceful shutdown: it stops reading and finishes its output,
/// and the stages behind it drain.
public actor Consumer {
    private let configuration: WorkerConfiguration
    private let connection: RedisConnection
    private let limiter: InFlightLimiter
    private let logger: Logger
    private let counters: PipelineCounters
    private var nextClaimAt: ContinuousClock.Instant
    private var recoverOwnPending = true
    /// Where the recovery of our own pending entries continues: each is taken once per recovery,
    /// so entries already in flight are not claimed again (which would count extra deliveries).
    private var ownRecoveryCursor = "-"
    private var autoClaimCursor = "0-0"
    /// Entries read so far (for profiling).
    public private(set) var entriesRead = 0
    /// Entries taken over from other consumers.
    public private(set) var entriesClaimed = 0

    /// Runs on the connection's thread, so its Redis calls need no thread hop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { connection.executor.asUnownedSerialExecutor() }

    /// Creates a consumer on its own connection.
    public init(
        configuration: WorkerConfiguration, connection: RedisConnection, limiter: InFlightLimiter, counters: PipelineCounters,
        logger: Logger
    ) {
        self.counters = counters
        self.configuration = configuration
        self.connection = connection
        self.limiter = limiter
        self.logger = logger
        self.nextClaimAt = ContinuousClock.now
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

    /// Reads until graceful shutdown (or cancellation), sending each read to `output`.
    func run(into output: StageChannel<ReadChunk>) async throws {
        defer { output.finish() }
        try await ensureGroup()
        var backoff = ReconnectBackoff(initialMilliseconds: 100, maximumMilliseconds: 5_000)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await limiter.acquire()
            if Task.isShuttingDownGracefully || Task.isCancelled {
                await limiter.release()
                break
            }
            do {
                let entries = try await nextEntries()
                backoff.recordSuccess()
                if entries.isEmpty {
                    await limiter.release()
                    continue
                }
                entriesRead += entries.count
                await output.send(ReadChunk(entries: entries, readAt: .now))
            } catch {
                await limiter.release()
                if Task.isCancelled { break }
                backoff.recordFailure()
                // A read whose reply was lost may have delivered entries into our pending list.
                recoverOwnPending = true
                ownRecoveryCursor = "-"
                if case .wait(let milliseconds) = backoff.nextAction(jitter: Double.random(in: 0...1)) {
                    logger.warning(
                        "reading the input stream failed; retrying",
                        metadata: ["error": "\(error)", "retry_ms": "\(milliseconds)"])
                    try? await Task.sleep(for: .milliseconds(milliseconds))
                }
            }
        }
        logger.info("consumer stopped reading", metadata: ["entries_read": "\(entriesRead)"])
    }

    private func nextEntries() async throws(RedisError) -> [StreamEntry] {
        if recoverOwnPending {
            // After a restart (same consumer name) or a lost read: our own pending entries first.
            let own = try await claim(minimumIdleMilliseconds: 0, onlyConsumer: configuration.consumerName, from: ownRecoveryCursor)
            if let last = own.last?.id {
                ownRecoveryCursor = "(" + last
                return own
            }
            recoverOwnPending = false
            ownRecoveryCursor = "-"
        }
        if ContinuousClock.now >= nextClaimAt {
            nextClaimAt = .now + .milliseconds(max(100, configuration.claimIdleMilliseconds / 2))
            let stale = try await autoClaim()
            if !stale.isEmpty {
                entriesClaimed += stale.count
                logger.info("claimed entries idle in other consumers", metadata: ["count": "\(stale.count)"])
                return stale
            }
        }
        return try await readNew()
    }

    private func readNew() async throws(RedisError) -> [StreamEntry] {
        var state = BatchingState(
            batchSize: configuration.batchSize, lingerMilliseconds: configuration.lingerMilliseconds,
            idleBlockMilliseconds: configuration.blockMilliseconds)
        var entries: [StreamEntry] = []
        var action = state.firstAction
        let clock = ContinuousClock()
        let origin = clock.now
        while case .read(let count, let block) = action {
            let reply = try await connection.send(
                RedisCommand(
                    "XREADGROUP", "GROUP", configuration.consumerGroup, configuration.consumerName, "COUNT", count,
                    "BLOCK", block, "STREAMS", configuration.transactionStream, ">"),
                timeoutMilliseconds: block + connection.configuration.commandTimeoutMilliseconds)
            counters.readRoundTrip()
            let read = Self.entries(ofStreamReply: reply)
            entries.append(contentsOf: read)
            if read.isEmpty && entries.isEmpty { return [] }  // idle: let the loop check for shutdown
            action = state.received(read.count, nowMilliseconds: (clock.now - origin).microseconds / 1000)
            if read.isEmpty && !entries.isEmpty { break }
        }
        return entries
    }

    /// Takes over entries idle longer than `--claim-idle-ms` in any consumer (crashed or stalled) with
    /// `XAUTOCLAIM`, then reads their delivery counts with `XPENDING` for the `--max-deliveries` check.
    private func autoClaim() async throws(RedisError) -> [StreamEntry] {
        let reply = try await connection.send(
            RedisCommand(
                "XAUTOCLAIM", configuration.transactionStream, configuration.consumerGroup, configuration.consumerName,
                configuration.claimIdleMilliseconds, autoClaimCursor, "COUNT", configuration.batchSize))
        guard let parts = reply.array, parts.count >= 2 else { return [] }
        autoClaimCursor = parts[0].string ?? "0-0"
        var entries = StreamEntry.parseList(parts[1].array ?? [])
        if parts.count >= 3, let deleted = parts[2].array, !deleted.isEmpty {
            logger.warning("pending entries were deleted from the stream before processing", metadata: ["count": "\(deleted.count)"])
        }
        guard let first = entries.first?.id, let last = entries.last?.id else { return [] }
        let pending = try await connection.send(
            RedisCommand(
                "XPENDING", configuration.transactionStream, configuration.consumerGroup, first, last, entries.count * 2 + 100,
                configuration.consumerName)).array ?? []
        var deliveries: [String: Int] = [:]
        for item in pending {
            if let fields = item.array, fields.count >= 4, let id = fields[0].string { deliveries[id] = fields[3].int ?? 1 }
        }
        for index in entries.indices { entries[index].deliveries = deliveries[entries[index].id] ?? 1 }
        return entries
    }

    /// Claims pending entries idle at least `minimumIdleMilliseconds` (of one consumer, or of any).
    private func claim(minimumIdleMilliseconds: Int, onlyConsumer: String?, from start: String) async throws(RedisError) -> [StreamEntry] {
        var pendingCommand = RedisCommand(
            "XPENDING", configuration.transactionStream, configuration.consumerGroup, "IDLE", minimumIdleMilliseconds,
            start, "+", configuration.batchSize)
        if let onlyConsumer { pendingCommand.append(onlyConsumer) }
        let pending = try await connection.send(pendingCommand).array ?? []
        guard !pending.isEmpty else { return [] }
        var deliveries: [String: Int] = [:]
        var claim = RedisCommand(
            "XCLAIM", configuration.transactionStream, configuration.consumerGroup, configuration.consumerName,
            minimumIdleMilliseconds)
        for item in pending {
            guard let fields = item.array, fields.count >= 4, let id = fields[0].string else { continue }
            deliveries[id] = (fields[3].int ?? 0) + 1  // XCLAIM counts this delivery
            claim.append(id)
        }
        let claimed = try await connection.send(claim).array ?? []
        var entries: [StreamEntry] = []
        for element in claimed {
            // A deleted entry still pending comes back as nil, or as [id, nil].
            guard let parts = element.array, let id = parts.first?.string else { continue }
            var entry = StreamEntry.parseList([element]).first ?? StreamEntry(id: id, fields: [])
            entry.deliveries = deliveries[id] ?? 1
            entries.append(entry)
        }
        return entries
    }

    /// Entries of an `XREADGROUP` reply `[[stream, [[id, fields], …]]]`.
    static func entries(ofStreamReply reply: RESPValue) -> [StreamEntry] {
        guard let streams = reply.array else { return [] }
        var result: [StreamEntry] = []
        for stream in streams {
            guard let parts = stream.array, parts.count == 2, let list = parts[1].array else { continue }
            result.append(contentsOf: StreamEntry.parseList(list))
        }
        return result
    }
}
