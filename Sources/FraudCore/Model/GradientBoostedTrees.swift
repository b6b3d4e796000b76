import Foundation

/// Trains binary classifiers as gradient-boosted regression trees on log-odds, the way scikit-learn's
/// `HistGradientBoostingClassifier` does: log-loss gradients and hessians, features cut into at most 255
/// quantile bins, best-first trees with up to `maxLeaves` leaves, Newton leaf values −G/(H+λ) shrunk by the
/// learning rate. No class reweighting: the base margin is the log-odds of the training prior.
public enum GradientBoostedTreesTrainer {
    /// Binary log-loss boosting with histogram-based splits; deterministic for a seed.
    ///
    /// Traps when `parameters.validate()` or `set.validate()` would throw; call them first on untrusted input.
    public static func train(_ set: TrainingSet, parameters: GBDTParameters) -> TreeEnsemble {
        train(set, parameters: parameters, trainingMargins: nil)
    }

    /// Trains, and when asked, hands back the final margin of every training row as the trainer tracked
    /// it (for tests: it must equal `TreeEnsemble.margin` of the row bit for bit).
    static func train(_ set: TrainingSet, parameters: GBDTParameters, trainingMargins: UnsafeMutableBufferPointer<Double>?)
        -> TreeEnsemble
    {
        do {
            try parameters.validate()
            try set.validate()
        } catch {
            preconditionFailure("GradientBoostedTreesTrainer: \(error)")
        }
        let rowCount = set.rowCount
        var forest = Forest()
        guard rowCount > 0 else { return forest.ensemble(set, baseMargin: 0) }
        let prior = min(max(Double(set.positiveCount) / Double(rowCount), 0x1p-52), 1 - 0x1p-52)
        let baseMargin = log(prior / (1 - prior))

        let binning = FeatureBinning(fitting: set, maxBins: parameters.maxBins, seed: parameters.seed)
        let grower = HistogramTreeGrower(
            binCodes: binning.binnedColumns(set), rowCount: rowCount, binCounts: binning.binCounts, parameters: parameters
        )
        let sampleCount = min(rowCount, max(1, Int((parameters.rowSubsample * Double(rowCount)).rounded())))
        let allRows = sampleCount == rowCount
        var random = TrainingRandom(seed: parameters.seed)
        var margins = [Double](repeating: baseMargin, count: rowCount)
        var sampled = [Int32](repeating: 0, count: allRows ? 0 : sampleCount)
        forest.reserve(parameters.trees * (2 * parameters.maxLeaves - 1))

        set.labels.withUnsafeBufferPointer { labels in
            for _ in 0..<parameters.trees {
                margins.withUnsafeBufferPointer { margins in
                    for row in 0..<rowCount {
                        let probability = ModelEvaluation.logistic(margins[row])
                        grower.gradients[row] = probability - Double(labels[row])
                        grower.hessians[row] = probability * (1 - probability)
                    }
                }
                if allRows {
                    for row in 0..<rowCount { grower.partition[row] = Int32(row) }
                } else {
                    random.sampleSorted(sampleCount, from: rowCount, into: &sampled)
                    sampled.withUnsafeBufferPointer { grower.partition.update(from: $0.baseAddress!, count: sampleCount) }
                }
                grower.grow(sampleCount: sampleCount, allRows: allRows)
                let values = grower.nodes.map { leafValue($0, parameters) }
                forest.append(grower.nodes, values: values, binning: binning)
                margins.withUnsafeMutableBufferPointer { margins in
                    update(margins, grower: grower, values: values, allRows: allRows)
                }
            }
        }
        if let trainingMargins {
            precondition(trainingMargins.count == rowCount)
            for row in 0..<rowCount { trainingMargins[row] = margins[row] }
        }
        return forest.ensemble(set, baseMargin: baseMargin)
    }

    /// What a node outputs as a leaf: the Newton step −G/(H+λ), shrunk; 0 when undefined.
    private static func leafValue(_ node: HistogramTreeGrower.Node, _ parameters: GBDTParameters) -> Double {
        let denominator = node.hessianSum + parameters.l2Regularization
        guard denominator > 0 else { return 0 }
        let value = -node.gradientSum / denominator * parameters.learningRate
        return value.isFinite ? value : 0
    }

    /// Adds the new tree's output to every row's margin: through the leaves' row ranges when the tree
    /// saw every row, by walking the binned tree otherwise.
    private static func update(
        _ margins: UnsafeMutableBufferPointer<Double>, grower: HistogramTreeGrower, values: [Double], allRows: Bool
    ) {
        let nodes = grower.nodes
        if allRows {
            for (index, node) in nodes.enumerated() where node.left < 0 {
                let value = values[index]
                for position in node.start..<node.end {
                    margins[Int(grower.partition[position])] += value
                }
            }
            return
        }
        let rowCount = grower.rowCount
        let feature = nodes.map { $0.left >= 0 ? $0.split?.feature ?? -1 : -1 }
        let bin = nodes.map { UInt8($0.split?.bin ?? 0) }
        let left = nodes.map(\.left)
        let right = nodes.map(\.right)
        for row in 0..<rowCount {
            var node = 0
            while feature[node] >= 0 {
                node = grower.bins[feature[node] * rowCount + row] <= bin[node] ? left[node] : right[node]
            }
            margins[row] += values[node]
        }
    }

    /// The node arrays of the ensemble being built.
    private struct Forest {
        var roots: [Int32] = []
        var feature: [Int32] = []
        var threshold: [Double] = []
        var left: [Int32] = []
        var right: [Int32] = []
        var value: [Double] = []

        mutating func reserve(_ nodes: Int) {
            feature.reserveCapacity(nodes)
            threshold.reserveCapacity(nodes)
            left.reserveCapacity(nodes)
            right.reserveCapacity(nodes)
            value.reserveCapacity(nodes)
        }

        /// Appends a grown tree in pre-order, thresholds turned from bins into real values.
        mutating func append(_ nodes: [HistogramTreeGrower.Node], values: [Double], binning: FeatureBinning) {
            roots.append(Int32(feature.count))
            var stack: [(node: Int, parent: Int, isLeft: Bool)] = [(0, -1, false)]
            while let (node, parent, isLeft) = stack.popLast() {
                let position = feature.count
                if parent >= 0 {
                    if isLeft { left[parent] = Int32(position) } else { right[parent] = Int32(position) }
                }
                let grown = nodes[node]
                if grown.left >= 0, let split = grown.split {
                    feature.append(Int32(split.feature))
                    threshold.append(binning.thresholds[split.feature][split.bin])
                    stack.append((grown.right, position, false))
                    stack.append((grown.left, position, true))
                } else {
                    feature.append(-1)
                    threshold.append(0)
                }
                left.append(-1)
                right.append(-1)
                value.append(values[node])
            }
        }

        func ensemble(_ set: TrainingSet, baseMargin: Double) -> TreeEnsemble {
            TreeEnsemble(
                featureNames: set.featureNames, featureCount: set.featureCount, baseMargin: baseMargin, treeRoots: roots,
                nodeFeature: feature, nodeThreshold: threshold, nodeLeft: left, nodeRight: right, nodeValue: value
            )
        }
    }
}
