import CoreMetrics
import Logging
import RedisClient

/// Reads the input stream's consumer-group backlog (``GroupBacklog``: `XINFO GROUPS`, plus an `XRANGE` count
/// when the group is behind) for the lag and pending gauges, at most once per ``minimumIntervalMilliseconds``
/// however often Prometheus scrapes, and never per transaction.
public actor GroupBacklogSampler {
    /// The shortest time between two reads.
    public static let minimumIntervalMilliseconds = 1_000

    private let stream: String
    private let group: String
    private let connection: RedisConnection
    private let lag: Gauge
    private let pending: Gauge
    private let errors: Counter
    private let logger: Logger
    private var lastRead: ContinuousClock.Instant?

    /// Creates a sampler of `group` on `stream`, read through `connection`.
    public init(stream: String, group: String, connection: RedisConnection, metrics: FraudMetrics, logger: Logger) {
        self.stream = stream
        self.group = group
        self.connection = connection
        lag = metrics.gauge(FraudMetrics.Name.inputLag, [("group", group)])
        pending = metrics.gauge(FraudMetrics.Name.inputPending, [("group", group)])
        errors = metrics.counter(FraudMetrics.Name.metricsSampleErrors)
        self.logger = logger
    }

    /// Reads the backlog unless it was read less than the minimum interval ago.
    public func sample() async {
        let now = ContinuousClock.now
        if let lastRead, now - lastRead < .milliseconds(Self.minimumIntervalMilliseconds) { return }
        lastRead = now
        do {
            let backlog = try await GroupBacklog.measure(stream: stream, group: group, on: connection)
            lag.record(backlog?.undelivered ?? 0)
            pending.record(backlog?.pending ?? 0)
        } catch {
            errors.increment()
            logger.debug("could not read the consumer group's backlog for metrics", metadata: ["error": "\(error)"])
        }
    }
}
