/// Quantile bin edges per feature, computed like scikit-learn's histogram gradient boosting binner:
/// midpoints between distinct values when there are few, midpoint-interpolated quantiles otherwise.
///
/// Bin `b` of a feature holds the values `v` with `thresholds[b - 1] < v <= thresholds[b]`; the last bin is
/// unbounded above. A split "bin <= b" is therefore exactly "value <= thresholds[b]", so trained trees
/// carry real-valued thresholds and inference needs no bins.
struct FeatureBinning: Sendable, Equatable {
    /// Strictly ascending, finite thresholds per feature.
    var thresholds: [[Double]]

    /// Rows looked at per feature when fitting (scikit-learn's `subsample` of the binner).
    static let sampleLimit = 200_000

    /// Bins of each feature (thresholds + 1).
    var binCounts: [Int] { thresholds.map { $0.count + 1 } }

    /// Wraps known thresholds.
    init(thresholds: [[Double]]) {
        self.thresholds = thresholds
    }

    /// Fits thresholds to a training set; on more than `sampleLimit` rows, to a seeded sample of them.
    init(fitting set: TrainingSet, maxBins: Int, seed: UInt64) {
        precondition((2...255).contains(maxBins), "maxBins must be in 2...255")
        let rowCount = set.rowCount
        let width = set.featureCount
        var sample: [Int32]
        if rowCount > Self.sampleLimit {
            var random = TrainingRandom(seed: seed ^ 0x6269_6E6E_696E_6721)
            sample = [Int32](repeating: 0, count: Self.sampleLimit)
            random.sampleSorted(Self.sampleLimit, from: rowCount, into: &sample)
        } else {
            sample = (0..<Int32(rowCount)).map { $0 }
        }
        var column = [Double](repeating: 0, count: sample.count)
        var result: [[Double]] = []
        result.reserveCapacity(width)
        for feature in 0..<width {
            set.features.withUnsafeBufferPointer { values in
                for (position, row) in sample.enumerated() {
                    column[position] = values[Int(row) * width + feature]
                }
            }
            column.sort()
            result.append(Self.thresholds(sortedValues: column, maxBins: maxBins))
        }
        thresholds = result
    }

    /// Thresholds of one feature from its sorted sample.
    static func thresholds(sortedValues sorted: [Double], maxBins: Int) -> [Double] {
        guard let first = sorted.first else { return [] }
        var distinct: [Double] = [first]
        for value in sorted.dropFirst() where value != distinct[distinct.count - 1] {
            distinct.append(value)
            if distinct.count > maxBins { break }
        }
        var edges: [Double] = []
        if distinct.count <= maxBins {
            edges.reserveCapacity(distinct.count - 1)
            for index in 1..<distinct.count {
                edges.append(midpoint(distinct[index - 1], distinct[index]))
            }
        } else {
            // Percentiles 100·k/maxBins, k = 1..<maxBins, numpy's "midpoint" method.
            edges.reserveCapacity(maxBins - 1)
            let last = Double(sorted.count - 1)
            for k in 1..<maxBins {
                let position = Double(k) / Double(maxBins) * last
                let low = Int(position.rounded(.down))
                let high = Int(position.rounded(.up))
                edges.append(midpoint(sorted[low], sorted[high]))
            }
        }
        var strictly: [Double] = []
        strictly.reserveCapacity(edges.count)
        for edge in edges {
            let clipped = min(max(edge, -1e300), 1e300)
            if strictly.isEmpty || clipped > strictly[strictly.count - 1] { strictly.append(clipped) }
        }
        return strictly
    }

    private static func midpoint(_ low: Double, _ high: Double) -> Double {
        let sum = (low + high) * 0.5
        return sum.isFinite ? sum : low * 0.5 + high * 0.5
    }

    /// The bin of a value: the number of thresholds strictly below it.
    func bin(_ value: Double, feature: Int) -> UInt8 {
        UInt8(Self.lowerBound(thresholds[feature], value))
    }

    private static func lowerBound(_ edges: [Double], _ value: Double) -> Int {
        var low = 0
        var high = edges.count
        while low < high {
            let middle = (low + high) >> 1
            if edges[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Bin codes of every value, column-major: feature `f` of row `r` at `f * rowCount + r`.
    func binnedColumns(_ set: TrainingSet) -> [UInt8] {
        let rowCount = set.rowCount
        let width = set.featureCount
        precondition(width == thresholds.count, "binning has \(thresholds.count) features, set has \(width)")
        var codes = [UInt8](repeating: 0, count: rowCount * width)
        codes.withUnsafeMutableBufferPointer { codes in
            set.features.withUnsafeBufferPointer { values in
                for feature in 0..<width {
                    let edges = thresholds[feature]
                    let base = feature * rowCount
                    for row in 0..<rowCount {
                        codes[base + row] = UInt8(Self.lowerBound(edges, values[row * width + feature]))
                    }
                }
            }
        }
        return codes
    }
}
