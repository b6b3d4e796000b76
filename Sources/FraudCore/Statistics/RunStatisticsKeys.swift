import RedisClient

/// Key names of run statistics. Every one of them expires ``defaultTTLSeconds`` (`STATS_TTL`) after the
/// run's last write, so runs come and go without leaving keys behind.
public struct RunStatisticsKeys: Sendable {
    /// Default lifetime of a run's statistics keys after its last write: 30 days.
    public static let defaultTTLSeconds = 2_592_000

    /// The namespace.
    public let namespace: String
    /// Where the counters live: `<ns>:stats`, or `<ns>:stats:{<tag>}` for the writers of a hash-tagged results
    /// stream (a cluster partition), so a write call's statistics share its slot. Readers merge every base.
    public let base: String

    /// Creates key names; `tag` is the hash tag of the writer's results stream, if it has one.
    public init(namespace: String, tag: String? = nil) {
        self.namespace = namespace
        base = tag.map { "\(namespace):stats:{\($0)}" } ?? "\(namespace):stats"
    }

    /// The names at `base` (one found by a reader).
    init(namespace: String, base: String) {
        self.namespace = namespace
        self.base = base
    }

    /// Counters of a run, all workers writing under this base.
    public func run(_ run: String) -> String { "\(base):run:\(run)" }
    /// Worker ids of a run.
    public func workers(run: String) -> String { "\(base):run:\(run):workers" }
    /// Counters and settings of one worker in a run.
    public func worker(run: String, worker: String) -> String { "\(base):run:\(run):worker:\(worker)" }
    /// Latency histograms of one worker in a run.
    public func workerLatency(run: String, worker: String) -> String { "\(base):run:\(run):worker:\(worker):latency" }
    /// Run metadata written by the generator (target rate, pattern, start, end).
    public func meta(run: String) -> String { "\(namespace):stats:run:\(run):meta" }

    /// The hash tag statistics of writers to `resultsStream` carry (nil for an untagged stream).
    public static func tag(forResultsStream resultsStream: String) -> String? { HashSlot.tag(of: resultsStream) }
}
