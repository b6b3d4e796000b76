import Histogram

/// A mergeable latency histogram in microseconds (HdrHistogram, 3 significant digits, up to 1 hour),
/// stored in Redis in a sparse text form `value:count,…` so workers' histograms can be added.
public struct LatencyHistogram: Sendable {
    /// The underlying HdrHistogram.
    public private(set) var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    /// An empty histogram.
    public init() {}

    /// Records a value (microseconds; clamped to the trackable range) `count` times.
    public mutating func record(microseconds: Int64, count: Int = 1) {
        guard count > 0 else { return }
        let value = UInt64(min(max(microseconds, 1), 3_600_000_000))
        _ = histogram.record(value, count: UInt64(count))
    }

    /// Adds another histogram (merging across workers).
    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    /// Number of recorded values.
    public var count: UInt64 { histogram.totalCount }

    /// The value at a percentile (0–100), in microseconds.
    public func percentile(_ percentile: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(percentile))
    }

    /// Mean in microseconds.
    public var mean: Double { count == 0 ? 0 : histogram.mean }
    /// Smallest recorded value in microseconds.
    public var minimum: Double { count == 0 ? 0 : Double(histogram.min) }
    /// Largest recorded value in microseconds.
    public var maximum: Double { count == 0 ? 0 : Double(histogram.max) }

    /// The sparse text form.
    public var encoded: String {
        var parts: [String] = []
        for bucket in histogram.recordedValues() where bucket.count > 0 {
            parts.append("\(histogram.medianEquivalentForValue(bucket.value)):\(bucket.count)")
        }
        return parts.joined(separator: ",")
    }

    /// Parses the sparse text form; malformed pairs are skipped.
    public init(encoded: String) {
        for pair in encoded.split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let value = Int64(parts[0]), let count = Int(parts[1]) else { continue }
            record(microseconds: value, count: count)
        }
    }
}
