import CoreMetrics
import Logging
import RedisClient

/// Reads the input stream's consumer-group lag and pending count with one `XINFO GROUPS` for the gauges, at
/// most once per ``minimumIntervalMilliseconds`` however often Prometheus scrapes, and never per transaction.
///
/// The lag is `XINFO`'s own, O(1). Redis reports none when it cannot know it (entries deleted from the middle of
/// the stream); then the sampler counts from stream ids (``GroupBacklog``) up to a small cap. Counting from ids
/// every time would read up to 10,000 entries per scrape of a worker that is behind: measured on the drain
/// benchmark, that alone cost 1.7 µs of Redis and 2.7 µs of worker CPU per transaction. (`XINFO`'s lag can be
/// stale after an AOF reload in Redis 7.0, see ``GroupBacklog``; `monitor` and `load-test` count from ids.)
public actor GroupBacklogSampler {
    /// The shortest time between two reads.
    public static let minimumIntervalMilliseconds = 1_000
    /// The most entries counted from stream ids when `XINFO` reports no lag.
    public static let fallbackCap = 1_000

    private let stream: String
    private let group: String
    private let connection: RedisConnection
    private let lag: Gauge
    private let pending: Gauge
    private let errors: Counter
    private let logger: Logger
    private var lastRead: ContinuousClock.Instant?

    /// Creates a sampler of `group` on `stream`, read through `connection`.
    public init(stream: String, group: String, partition: Int = 0, connection: RedisConnection, metrics: FraudMetrics, logger: Logger) {
        self.stream = stream
        self.group = group
        self.connection = connection
        lag = metrics.gauge(FraudMetrics.Name.inputLag, [("group", group), ("partition", String(partition))])
        pending = metrics.gauge(FraudMetrics.Name.inputPending, [("group", group), ("partition", String(partition))])
        errors = metrics.counter(FraudMetrics.Name.metricsSampleErrors)
        self.logger = logger
    }

    /// Reads the backlog unless it was read less than the minimum interval ago.
    public func sample() async {
        let now = ContinuousClock.now
        if let lastRead, now - lastRead < .milliseconds(Self.minimumIntervalMilliseconds) { return }
        lastRead = now
        do {
            guard let info = try await connection.send(XInfoGroups(stream: stream)).first(where: { $0.name == group }) else {
                lag.record(0)
                pending.record(0)
                return
            }
            pending.record(info.pending)
            if let reported = info.lag {
                lag.record(reported)
            } else {
                let backlog = try await GroupBacklog.measure(stream: stream, group: group, on: connection, cap: Self.fallbackCap)
                lag.record(backlog?.undelivered ?? 0)
            }
        } catch {
            errors.increment()
            logger.debug("could not read the consumer group's backlog for metrics", metadata: ["error": "\(error)"])
        }
    }
}
