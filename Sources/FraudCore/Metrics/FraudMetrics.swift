import CoreMetrics
import Prometheus
import RedisClient
import Synchronization

/// The Prometheus metrics of one worker or scoring server, recorded through swift-metrics and exported by
/// swift-prometheus.
///
/// Each instance has its own registry (handlers are made with `factory:`, not through the global
/// `MetricsSystem`), so two workers or servers in one process (tests) never mix their counts. Names follow
/// Prometheus conventions: base units, `_total` counters, `_seconds` histograms. Label values come from small
/// closed sets (decision, source, stage, edge, endpoint pattern, status) or are capped (reason codes, dead-letter
/// classes: at most ``maximumDynamicLabelValues`` each, then `other`): no user, transaction or IP ever becomes
/// a label, so the number of series does not grow with traffic.
public final class FraudMetrics: Sendable {
    /// Histogram buckets of every latency: 100 µs to 1 s.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2_500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1),
    ]
    /// Histogram buckets of the batch size (transactions per batch).
    public static let batchSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 10_000]
    /// Distinct values a capped label (reason, dead-letter class) takes before further ones count as `other`.
    public static let maximumDynamicLabelValues = 64

    /// Metric names.
    public enum Name {
        public static let scored = "fraudstream_transactions_scored_total"
        public static let reasons = "fraudstream_reasons_total"
        public static let labelledReasons = "fraudstream_reasons_labelled_total"
        public static let deadLetters = "fraudstream_dead_letters_total"
        public static let endToEnd = "fraudstream_end_to_end_latency_seconds"
        public static let stage = "fraudstream_stage_latency_seconds"
        public static let batchSize = "fraudstream_batch_size_transactions"
        public static let batchesInFlight = "fraudstream_batches_in_flight"
        public static let channelDepth = "fraudstream_channel_depth_batches"
        public static let inputLag = "fraudstream_input_lag_entries"
        public static let inputPending = "fraudstream_input_pending_entries"
        public static let modelInfo = "fraudstream_model_info"
        public static let modelSwaps = "fraudstream_model_swaps_total"
        public static let redisReconnects = "fraudstream_redis_reconnects_total"
        public static let redisRetries = "fraudstream_redis_retries_total"
        public static let apiRequests = "fraudstream_api_requests_total"
        public static let apiDuration = "fraudstream_api_request_duration_seconds"
        public static let apiDegraded = "fraudstream_api_degraded_total"
        public static let metricsSampleErrors = "fraudstream_metrics_sample_errors_total"
        /// 1 while the namespace's state is lost from Redis (``StateWatcher``), else 0.
        public static let stateLost = "fraudstream_state_lost"
        /// Times the namespace's state was found lost from Redis.
        public static let stateLosses = "fraudstream_state_losses_total"
        /// Decisions in the API's decision journal, waiting to be recorded.
        public static let apiJournalEntries = "fraudstream_api_journal_entries"
        /// Decisions recorded from the journal after an outage.
        public static let apiJournalRecorded = "fraudstream_api_journal_recorded_total"
        /// Journalled answers not recorded: they went to retries of transactions another arrival had decided.
        public static let apiJournalDuplicates = "fraudstream_api_journal_duplicates_total"
        /// Decisions given to clients that could not be kept for the audit trail (journal full).
        public static let apiUnrecorded = "fraudstream_api_unrecorded_total"
        /// Transactions the API admits at once now (learned: what its lanes decide within the deadline).
        public static let apiAdmissionLimit = "fraudstream_api_admission_limit"
        /// Transactions admitted and not yet decided.
        public static let apiInFlight = "fraudstream_api_in_flight"
    }

    /// Where the registry's text comes from.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let gauges = Mutex<[String: CoreMetrics.Gauge]>([:])
    private let capped = Mutex<[String: Set<String>]>([:])
    private let modelGauge = Mutex<(version: Int, gauge: CoreMetrics.Gauge)?>(nil)
    private let samplers = Mutex<[@Sendable () async -> Void]>([])
    private let processTotals: Mutex<(reconnects: Int, retries: Int)>
    private let batchSize: CoreMetrics.Recorder

    /// A new, empty registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        factory.valueHistogramBuckets = [Name.batchSize: Self.batchSizeBuckets]
        self.factory = factory
        batchSize = CoreMetrics.Recorder(label: Name.batchSize, dimensions: [], aggregate: true, factory: factory)
        // Counted from now: what the process did before this registry existed is not its to report.
        processTotals = Mutex((RedisActivity.reconnects, RedisActivity.retries))
        for name in [Name.modelSwaps, Name.redisReconnects, Name.redisRetries] { _ = counter(name) }
    }

    // MARK: Handlers, made once per label set

    private static func key(_ name: String, _ labels: [(String, String)]) -> String {
        labels.reduce(name) { $0 + "|" + $1.0 + "=" + $1.1 }
    }

    /// The handler of `name` and `labels` in `cache`, made by `make` the first time.
    private func cached<Handler>(
        _ cache: borrowing Mutex<[String: Handler]>, _ name: String, _ labels: [(String, String)], _ make: () -> Handler
    ) -> Handler {
        cache.withLock { handlers in
            let key = Self.key(name, labels)
            if let handler = handlers[key] { return handler }
            let handler = make()
            handlers[key] = handler
            return handler
        }
    }

    /// The counter `name` with `labels`.
    public func counter(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Counter {
        cached(counters, name, labels) { CoreMetrics.Counter(label: name, dimensions: labels, factory: factory) }
    }

    /// The latency histogram `name` with `labels` (seconds, ``latencyBuckets``).
    public func timer(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Timer {
        cached(timers, name, labels) { CoreMetrics.Timer(label: name, dimensions: labels, factory: factory) }
    }

    /// The gauge `name` with `labels`.
    public func gauge(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Gauge {
        cached(gauges, name, labels) { CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory) }
    }

    /// `value` if the capped label `name` already has it or still has room, else `other`.
    public func cappedLabel(_ name: String, _ value: String) -> String {
        capped.withLock { seen in
            if seen[name, default: []].contains(value) { return value }
            guard seen[name, default: []].count < Self.maximumDynamicLabelValues else { return "other" }
            seen[name, default: []].insert(value)
            return value
        }
    }

    // MARK: What the pipelines record

    /// Counts written decisions and their reasons: `decisions` is (decision, comma-separated reasons) per result.
    public func scored(_ decisions: some Sequence<(decision: String, reasons: String)>, source: String) {
        var byDecision: [String: Int] = [:]
        var byReason: [String: Int] = [:]
        for (decision, reasons) in decisions {
            byDecision[decision, default: 0] += 1
            guard !reasons.isEmpty else { continue }
            for reason in reasons.split(separator: ",") { byReason[String(reason), default: 0] += 1 }
        }
        for (decision, count) in byDecision {
            let value = ["approve", "review", "decline"].contains(decision) ? decision : "other"
            counter(Name.scored, [("decision", value), ("source", source)]).increment(by: count)
        }
        for (reason, count) in byReason {
            counter(Name.reasons, [("reason", cappedLabel("reason", reason)), ("source", source)]).increment(by: count)
        }
    }

    /// Counts the reasons of labelled results by label (`fraud`, `legit`): each rule's precision is
    /// `…{label="fraud"}` over the sum of both.
    public func labelledReasons(_ decisions: some Sequence<(reasons: String, fraud: Bool)>, source: String) {
        var counts: [String: (fraud: Int, legit: Int)] = [:]
        for (reasons, fraud) in decisions where !reasons.isEmpty {
            for reason in reasons.split(separator: ",") {
                var count = counts[String(reason)] ?? (0, 0)
                if fraud { count.fraud += 1 } else { count.legit += 1 }
                counts[String(reason)] = count
            }
        }
        for (reason, count) in counts {
            let label = cappedLabel("reason", reason)
            if count.fraud > 0 { counter(Name.labelledReasons, [("reason", label), ("label", "fraud"), ("source", source)]).increment(by: count.fraud) }
            if count.legit > 0 { counter(Name.labelledReasons, [("reason", label), ("label", "legit"), ("source", source)]).increment(by: count.legit) }
        }
    }

    /// Counts dead letters by class (``DeadLetter/kind``: `missing_field`, `invalid_amount`, `max_deliveries`, …).
    public func deadLettered(classes: some Sequence<String>) {
        for kind in classes {
            counter(Name.deadLetters, [("class", cappedLabel("class", kind.isEmpty ? "other" : kind))]).increment()
        }
    }

    /// Records end-to-end latencies (µs; negative values, results not written, are skipped).
    public func endToEnd(microseconds: some Sequence<Int64>, source: String) {
        let timer = timer(Name.endToEnd, [("source", source)])
        for value in microseconds where value >= 0 { timer.recordNanoseconds(value * 1_000) }
    }

    /// Records the time a batch spent in `stage` (µs).
    public func stage(_ stage: String, microseconds: Int64) {
        timer(Name.stage, [("stage", stage)]).recordNanoseconds(max(0, microseconds) * 1_000)
    }

    /// Records a batch's size.
    public func batch(size: Int) {
        batchSize.record(size)
    }

    /// The model now serving: `fraudstream_model_info{version}` is 1 for it (the previous version's series is
    /// removed), and a change of version counts as a swap.
    public func modelServing(version: Int) {
        modelGauge.withLock { current in
            if current?.version == version { return }
            if let previous = current {
                previous.gauge.destroy()
                counter(Name.modelSwaps).increment()
            }
            let gauge = CoreMetrics.Gauge(label: Name.modelInfo, dimensions: [("version", String(version))], factory: factory)
            gauge.record(1)
            current = (version, gauge)
        }
    }

    // MARK: Sampling at scrape time

    /// Adds work run before each scrape renders (gauges read from their source, at most as often as scraped).
    public func addSampler(_ sampler: @escaping @Sendable () async -> Void) {
        samplers.withLock { $0.append(sampler) }
    }

    /// Runs the samplers, then renders the registry in the Prometheus text format.
    public func render() async -> [UInt8] {
        sampleProcessTotals()
        for sampler in samplers.withLock({ $0 }) { await sampler() }
        return registry.emitToBuffer()
    }

    /// The process's Redis reconnects and retries since the last scrape, added to their counters.
    private func sampleProcessTotals() {
        let now = (reconnects: RedisActivity.reconnects, retries: RedisActivity.retries)
        let delta = processTotals.withLock { last in
            defer { last = now }
            return (max(0, now.reconnects - last.reconnects), max(0, now.retries - last.retries))
        }
        counter(Name.redisReconnects).increment(by: delta.0)
        counter(Name.redisRetries).increment(by: delta.1)
    }
}
