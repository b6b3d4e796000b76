/// Key names of run statistics. Every one of them expires ``defaultTTLSeconds`` (`STATS_TTL`) after the
/// run's last write, so runs come and go without leaving keys behind.
public struct RunStatisticsKeys: Sendable {
    /// Default lifetime of a run's statistics keys after its last write: 30 days.
    public static let defaultTTLSeconds = 2_592_000

    /// The namespace.
    public let namespace: String

    /// Creates key names.
    public init(namespace: String) { self.namespace = namespace }

    /// Counters of a run, all workers.
    public func run(_ run: String) -> String { "\(namespace):stats:run:\(run)" }
    /// Worker ids of a run.
    public func workers(run: String) -> String { "\(namespace):stats:run:\(run):workers" }
    /// Counters and settings of one worker in a run.
    public func worker(run: String, worker: String) -> String { "\(namespace):stats:run:\(run):worker:\(worker)" }
    /// Latency histograms of one worker in a run.
    public func workerLatency(run: String, worker: String) -> String { "\(namespace):stats:run:\(run):worker:\(worker):latency" }
    /// Run metadata written by the generator (target rate, pattern, start, end).
    public func meta(run: String) -> String { "\(namespace):stats:run:\(run):meta" }
}
