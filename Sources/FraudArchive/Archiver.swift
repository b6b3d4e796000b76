import FraudCore
import Foundation
import Logging
import PostgresNIO
import RedisClient
import ServiceLifecycle

/// What `fraudstream archive` runs with.
public struct ArchiveConfiguration: Sendable {
    public var namespace = StreamNames.defaultNamespace
    /// Every partition's results stream.
    public var resultsStreams: [String] = [StreamNames().results]
    /// The audit streams and labels hash are copied from this namespace too.
    public var group = "archive"
    public var consumer = "archiver"
    /// Entries per read and per PostgreSQL statement.
    public var batchSize = 1_000
    public var blockMilliseconds = 1_000
    /// Daily partitions wholly older than this are dropped.
    public var retentionDays = 730
    /// The hard bound on a results stream's length while the archive holds it.
    public var holdMaxEntries = 2_000_000
    /// How often audit entries and labels are copied, and retention checked.
    public var sideCopyMilliseconds = 10_000
    /// Entries another archiver of the group read and has not acknowledged for this long are taken over (it stopped).
    public var claimIdleMilliseconds = 60_000

    public init() {}
}

/// Follows every results stream with its own consumer group and writes each decision to PostgreSQL: a batch per
/// statement in one transaction, acknowledged only after the commit, so a crash between the two replays the batch,
/// which inserts nothing twice (the primary key). After each acknowledgement it moves the stream's hold
/// (``ArchiveHold``) to the group's floor (its smallest pending entry, else the last delivered), so the workers' trim
/// never drops an entry not yet archived, whichever archiver of the group holds it. Several archivers (each with its
/// own consumer name) share the work; one takes over what another read and left unacknowledged for
/// ``ArchiveConfiguration/claimIdleMilliseconds``. While PostgreSQL is away it retries, the stream is held (up to its
/// bound), and the lag grows (`fraudstream_archive_lag_entries`).
public struct Archiver: Service {
    let configuration: ArchiveConfiguration
    /// The side copies' connection (audit, reviews, labels).
    let redis: RedisConnection
    /// Each results stream is followed on a connection of its own (a blocking read holds one), made from this.
    let redisConfiguration: RedisConfiguration
    /// The side copies' PostgreSQL connection: their transactions must never enclose a batch of decisions.
    let sideStore: ArchiveStore
    let store: ArchiveStore
    let metrics: FraudMetrics
    let logger: Logger

    public init(
        configuration: ArchiveConfiguration, redis: RedisConnection, redisConfiguration: RedisConfiguration, store: ArchiveStore,
        sideStore: ArchiveStore, metrics: FraudMetrics, logger: Logger
    ) {
        self.configuration = configuration
        self.redis = redis
        self.redisConfiguration = redisConfiguration
        self.sideStore = sideStore
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for stream in configuration.resultsStreams {
                group.addTask { await follow(stream) }
            }
            group.addTask { await copySideTables() }
        }
    }

    /// Creates the group (from the stream's start, so what is in the stream already is archived too).
    func ensureGroup(_ stream: String, on redis: RedisConnection) async throws(RedisError) {
        let reply = try await redis.pipeline([RedisCommand("XGROUP", "CREATE", stream, configuration.group, "0", "MKSTREAM")])[0]
        if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") { _ = try reply.get() }
    }

    /// Entries not yet archived: not yet delivered to the group plus delivered and not acknowledged (from stream ids,
    /// ``GroupBacklog``, not `XINFO`'s lag); nil without the group.
    public static func lag(stream: String, group: String, on redis: RedisConnection) async throws(RedisError) -> Int? {
        guard let backlog = try await GroupBacklog.measure(stream: stream, group: group, on: redis) else { return nil }
        return backlog.undelivered + backlog.pending
    }

    private func follow(_ stream: String) async {
        var configurationForStream = redisConfiguration
        configurationForStream.clientName = "fraudstream-archive"
        let redis: RedisConnection
        do {
            redis = try await RedisConnection.connect(configurationForStream)
        } catch {
            logger.error("connecting to Redis for \(stream) failed", metadata: ["error": "\(error)"])
            return
        }
        let lagGauge = metrics.gauge("fraudstream_archive_lag_entries", [("stream", stream)])
        let rowsCounter = metrics.counter("fraudstream_archive_rows_total", [("stream", stream)])
        // Pending entries first (read before a crash, never acknowledged), then new ones.
        var cursor = "0"
        var failures = 0
        // The hold's overrun count as first read: an overrun of an earlier run is not reported again.
        var overrunSeen: Int64?
        var groupReady = false
        // Entries another archiver left pending are looked for every half claim period.
        var claimChecked = ContinuousClock.now
        // The lag costs a read of up to 10,000 stream entries: measured every 5 s, not per batch.
        var lagMeasured = ContinuousClock.now - .seconds(2)
        func measureLag() async throws(RedisError) {
            guard ContinuousClock.now - lagMeasured >= .seconds(5) else { return }
            lagMeasured = .now
            if let lag = try await Self.lag(stream: stream, group: configuration.group, on: redis) { lagGauge.record(lag) }
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if !groupReady {
                    try await ensureGroup(stream, on: redis)
                    groupReady = true
                }
                var entries: [StreamEntry] = []
                if cursor == ">", ContinuousClock.now - claimChecked >= .milliseconds(configuration.claimIdleMilliseconds / 2) {
                    claimChecked = .now
                    let claim = XAutoClaim(
                        stream: stream, group: configuration.group, consumer: configuration.consumer,
                        minimumIdleMilliseconds: configuration.claimIdleMilliseconds, start: "0-0", count: configuration.batchSize)
                    entries = try await redis.send(claim).entries
                    if !entries.isEmpty {
                        logger.notice("took over entries another archiver read and left unacknowledged", metadata: [
                            "stream": "\(stream)", "entries": "\(entries.count)",
                        ])
                        // More may wait: looked for again at once.
                        claimChecked = .now - .milliseconds(configuration.claimIdleMilliseconds)
                    }
                }
                if entries.isEmpty {
                    let read = XReadGroup(
                        group: configuration.group, consumer: configuration.consumer, count: configuration.batchSize,
                        blockMilliseconds: cursor == ">" ? configuration.blockMilliseconds : nil, streams: [(stream, cursor)])
                    entries = try await redis.send(read, timeoutMilliseconds: configuration.blockMilliseconds + 10_000).first?.entries ?? []
                }
                if entries.isEmpty {
                    if cursor == "0" { cursor = ">" }
                    let overrun = try await refreshHold(stream, moveFloor: false, on: redis)
                    if overrunSeen == nil { overrunSeen = overrun ?? 0 }
                    try await measureLag()
                    continue
                }
                let rows = entries.compactMap { entry in
                    ResultRecord(id: entry.id, fields: entry.fields).map { ArchiveStore.Row(stream: stream, record: $0, fields: entry.fields) }
                }
                if rows.count < entries.count {
                    logger.warning("results entries that are not decisions were skipped", metadata: ["stream": "\(stream)", "count": "\(entries.count - rows.count)"])
                }
                try await storeWithRetry(rows, stream: stream, failures: &failures, redis: redis)
                let ack = RedisCommand("XACK", arguments: [stream, configuration.group] + entries.map { $0.id as any RedisArgument })
                _ = try await redis.send(ack).get()
                rowsCounter.increment(by: rows.count)
                let overrun = try await refreshHold(stream, moveFloor: true, on: redis) ?? 0
                if let seen = overrunSeen, overrun > seen {
                    logger.critical(
                        "the results stream reached its hold bound while the archive lagged: entries may have been trimmed before they were archived",
                        metadata: ["stream": "\(stream)", "entries_added_at_the_bound": "\(overrun - seen)", "bound": "\(configuration.holdMaxEntries)"])
                }
                overrunSeen = overrun
                try await measureLag()
            } catch {
                if Task.isCancelled { return }
                // What was read and not acknowledged is read again first (and the group made again, should it be gone).
                cursor = "0"
                groupReady = false
                logger.warning("archiving \(stream) failed; retrying", metadata: ["error": "\(error)"])
                await gracefulShutdownAwareSleep(milliseconds: 1_000)
            }
        }
    }

    /// Writes a batch, retrying while PostgreSQL is away (the entries stay unacknowledged, so nothing is lost).
    private func storeWithRetry(_ rows: [ArchiveStore.Row], stream: String, failures: inout Int, redis: RedisConnection) async throws {
        while true {
            do {
                try await store.insert(rows)
                if failures > 0 { logger.notice("PostgreSQL is back; archiving again", metadata: ["stream": "\(stream)", "failed_attempts": "\(failures)"]) }
                failures = 0
                return
            } catch {
                // A stop leaves the batch pending, for the next start.
                if Task.isCancelled || Task.isShuttingDownGracefully { throw CancellationError() }
                failures += 1
                if failures == 1 || failures % 30 == 0 {
                    logger.error("writing to PostgreSQL failed; the batch stays pending and the stream held", metadata: [
                        "stream": "\(stream)", "error": "\(PostgresSettings.describe(error))", "failed_attempts": "\(failures)",
                    ])
                }
                try? await store.reconnect()
                _ = try? await refreshHold(stream, moveFloor: false, on: redis)
                try await Task.sleep(for: .milliseconds(min(5_000, 200 * failures)))
            }
        }
    }

    /// Refreshes the hold's bound and expiry, and with `moveFloor` moves it to the group's floor (``groupFloor(_:on:)``);
    /// returns the hold's `overrun` count.
    private func refreshHold(_ stream: String, moveFloor: Bool, on redis: RedisConnection) async throws(RedisError) -> Int64? {
        let key = ArchiveHold.key(for: stream)
        var commands = [RedisCommand("HSET", key, "max", configuration.holdMaxEntries)]
        if moveFloor, let floor = try await groupFloor(stream, on: redis) {
            commands[0].append("id")
            commands[0].append(floor)
        } else {
            // Before the first acknowledgement, hold everything from the group's start.
            commands.append(RedisCommand("HSETNX", key, "id", "0-1"))
        }
        commands.append(RedisCommand("EXPIRE", key, ArchiveHold.ttlSeconds))
        commands.append(RedisCommand("HGET", key, "overrun"))
        let replies = try await redis.pipeline(commands)
        for reply in replies { _ = try reply.get() }
        return replies.last?.string.flatMap { Int64($0) }
    }

    /// The id below which every entry of `stream` is archived, whichever archiver of the group read it: the smallest
    /// entry still pending in the group, or, with none pending, the last one delivered. The last delivered id is read
    /// first, so an entry another archiver reads between the two reads lies above it.
    func groupFloor(_ stream: String, on redis: RedisConnection) async throws(RedisError) -> String? {
        let groups = XInfoGroups(stream: stream)
        let replies = try await redis.pipeline([groups.command, RedisCommand("XPENDING", stream, configuration.group)])
        guard let delivered = try groups.decode(slot: replies[0]).first(where: { $0.name == configuration.group })?.lastDeliveredId,
            let deliveredId = StreamID(delivered)
        else { return nil }
        // XPENDING's summary: count, smallest id, greatest id, consumers.
        let summary = try replies[1].get().array ?? []
        if summary.count > 1, let smallest = summary[1].string.flatMap(StreamID.init), smallest < deliveredId { return smallest.description }
        return delivered
    }

    /// Audit entries and labels, every ``ArchiveConfiguration/sideCopyMilliseconds``, and the retention's drops.
    private func copySideTables() async {
        var lastRetention = Date.distantPast
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await copyAudit()
                try await copyReviews()
                try await copyLabels()
                if Date().timeIntervalSince(lastRetention) > 3_600 {
                    let dropped = try await sideStore.dropPartitions(olderThanDays: configuration.retentionDays)
                    for name in dropped {
                        logger.notice("retention dropped an archive partition", metadata: ["partition": "\(name)", "retention_days": "\(configuration.retentionDays)"])
                    }
                    lastRetention = Date()
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("copying audit entries and labels failed; retrying", metadata: ["error": "\(PostgresSettings.describe(error))"])
            }
            await gracefulShutdownAwareSleep(milliseconds: configuration.sideCopyMilliseconds)
        }
    }

    func copyAudit() async throws {
        let streams = try await Keyspace(namespace: configuration.namespace).keys(matching: "\(configuration.namespace):audit:{*}", on: redis)
        for stream in streams { try await copy(stream, with: sideStore.insertAudit) }
    }

    /// Every partition's review queue, by position (its entries carry the feature vector of each review decision).
    func copyReviews() async throws {
        for results in configuration.resultsStreams {
            try await copy(ReviewKeys(namespace: configuration.namespace, resultsStream: results).stream, with: sideStore.insertReviews)
        }
    }

    /// Copies what `stream` holds past its archived position, 1,000 entries per `insert` (which also moves the position).
    private func copy(_ stream: String, with insert: ([StreamEntry], String) async throws -> Void) async throws {
        var position = try await sideStore.position(of: stream)
        while true {
            let entries = try await redis.send(XRange(stream: stream, start: "(" + position, end: "+", count: 1_000))
            guard let last = entries.last else { return }
            try await insert(entries, stream)
            position = last.id
        }
    }

    func copyLabels() async throws {
        let labelsKey = ReviewKeys(namespace: configuration.namespace, resultsStream: configuration.resultsStreams.first ?? "").labels
        var cursor = "0"
        repeat {
            let reply = try await redis.send(RedisCommand("HSCAN", labelsKey, cursor, "COUNT", 1_000))
            guard let parts = reply.array, parts.count == 2 else { break }
            cursor = parts[0].string ?? "0"
            let pairs = parts[1].array?.compactMap(\.string) ?? []
            var labels: [(transactionId: String, fraud: Bool)] = []
            var index = 0
            while index + 1 < pairs.count {
                labels.append((pairs[index], pairs[index + 1] == "1"))
                index += 2
            }
            try await sideStore.upsertLabels(labels, source: labelsKey)
        } while cursor != "0"
    }
}
