/// The latency histograms a worker keeps per run: end to end and per stage.
public struct StageHistograms: Sendable {
    /// Stage names as stored in Redis, in report order.
    public static let stages = ["end_to_end", "queue", "features", "scoring", "write"]

    /// Histogram per stage name.
    public var byStage: [String: LatencyHistogram] = [:]

    /// Empty histograms.
    public init() {
        for stage in Self.stages { byStage[stage] = LatencyHistogram() }
    }

    /// Records one value for a stage.
    public mutating func record(_ stage: String, microseconds: Int64, count: Int = 1) {
        byStage[stage, default: LatencyHistogram()].record(microseconds: microseconds, count: count)
    }

    /// Adds another set (merging workers).
    public mutating func add(_ other: StageHistograms) {
        for (stage, histogram) in other.byStage { byStage[stage, default: LatencyHistogram()].add(histogram) }
    }

    /// The histogram of a stage.
    public subscript(stage: String) -> LatencyHistogram { byStage[stage] ?? LatencyHistogram() }
}
