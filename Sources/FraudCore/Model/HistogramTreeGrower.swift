/// Grows one regression tree on binned data from gradients and hessians: best-first (the open leaf
/// with the largest gain splits next), gradient/hessian/count histograms per node, the sibling's
/// histogram by subtraction from the parent's. Owns all its buffers and reuses them tree after tree,
/// so growing allocates nothing per row. Internal to the trainer; not thread-safe.
final class HistogramTreeGrower {
    /// A node while the tree grows; its rows are `partition[start..<end]`.
    struct Node {
        var start: Int
        var end: Int
        var gradientSum: Double
        var hessianSum: Double
        var depth: Int
        var histogram = -1
        var split: Split?
        var left = -1
        var right = -1

        var count: Int { end - start }
    }

    /// The best split of a node: rows with `bin <= bin` of `feature` go left.
    struct Split {
        var feature: Int
        var bin: Int
        var gain: Double
        var leftGradient: Double
        var leftHessian: Double
        var leftCount: Int
    }

    let rowCount: Int
    let featureCount: Int
    let binCounts: [Int]
    let parameters: GBDTParameters

    /// Bin codes, column-major (`feature * rowCount + row`).
    let bins: UnsafeMutablePointer<UInt8>
    /// Per-row gradients and hessians of the current iteration, written by the trainer.
    let gradients: UnsafeMutablePointer<Double>
    let hessians: UnsafeMutablePointer<Double>
    /// Row indices; the trainer writes the rows of the tree into `partition[0..<sampleCount]`.
    let partition: UnsafeMutablePointer<Int32>
    private let scratch: UnsafeMutablePointer<Int32>
    private let orderedGradients: UnsafeMutablePointer<Double>
    private let orderedHessians: UnsafeMutablePointer<Double>
    /// Histogram slots: per feature `histogramStride` doubles, (gradient, hessian, count) per bin.
    private let histograms: UnsafeMutablePointer<Double>
    private let histogramStride: Int
    /// A second histogram of one feature for `accumulate`.
    private let spare: UnsafeMutablePointer<Double>
    private let slotSize: Int
    private let slotCount: Int
    private var freeSlots: [Int] = []

    /// The nodes of the last grown tree; node 0 is the root, children after parents.
    private(set) var nodes: [Node] = []

    /// Allocates buffers for `rowCount` rows and copies the bin codes.
    init(binCodes: [UInt8], rowCount: Int, binCounts: [Int], parameters: GBDTParameters) {
        self.rowCount = rowCount
        self.featureCount = binCounts.count
        self.binCounts = binCounts
        self.parameters = parameters
        precondition(binCodes.count == rowCount * featureCount)
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: max(binCodes.count, 1))
        binCodes.withUnsafeBufferPointer { source in
            if let address = source.baseAddress { codes.initialize(from: address, count: source.count) }
        }
        bins = codes
        let rows = max(rowCount, 1)
        gradients = .allocate(capacity: rows)
        hessians = .allocate(capacity: rows)
        gradients.initialize(repeating: 0, count: rows)
        hessians.initialize(repeating: 0, count: rows)
        partition = .allocate(capacity: rows)
        scratch = .allocate(capacity: rows)
        orderedGradients = .allocate(capacity: rows)
        orderedHessians = .allocate(capacity: rows)
        histogramStride = 3 * (binCounts.max() ?? 1)
        slotSize = histogramStride * featureCount
        slotCount = parameters.maxLeaves + 1
        spare = .allocate(capacity: histogramStride)
        spare.initialize(repeating: 0, count: histogramStride)
        histograms = .allocate(capacity: max(slotSize * slotCount, 1))
        histograms.initialize(repeating: 0, count: max(slotSize * slotCount, 1))
        nodes.reserveCapacity(2 * parameters.maxLeaves)
    }

    deinit {
        bins.deallocate()
        gradients.deallocate()
        hessians.deallocate()
        partition.deallocate()
        scratch.deallocate()
        orderedGradients.deallocate()
        orderedHessians.deallocate()
        histograms.deallocate()
        spare.deallocate()
    }

    /// Grows a tree on the rows in `partition[0..<sampleCount]`; `allRows` says they are exactly
    /// `0..<rowCount` in order, which lets the root skip the indirection. Leaves end up holding
    /// contiguous ranges of `partition`.
    func grow(sampleCount: Int, allRows: Bool) {
        nodes.removeAll(keepingCapacity: true)
        freeSlots = Array((0..<slotCount).reversed())
        var gradientSum = 0.0
        var hessianSum = 0.0
        if allRows {
            for row in 0..<sampleCount {
                gradientSum += gradients[row]
                hessianSum += hessians[row]
            }
        } else {
            for position in 0..<sampleCount {
                let row = Int(partition[position])
                gradientSum += gradients[row]
                hessianSum += hessians[row]
            }
        }
        nodes.append(Node(start: 0, end: sampleCount, gradientSum: gradientSum, hessianSum: hessianSum, depth: 0))
        var leaves = 1
        var open: [Int] = []
        if canSplit(nodes[0], leaves: leaves) {
            let slot = freeSlots.removeLast()
            buildHistogram(slot: slot, start: 0, end: sampleCount, allRows: allRows)
            nodes[0].histogram = slot
            consider(0, open: &open)
        }
        while leaves < parameters.maxLeaves, !open.isEmpty {
            var pick = 0
            for candidate in 1..<open.count where nodes[open[candidate]].split!.gain > nodes[open[pick]].split!.gain {
                pick = candidate
            }
            let parent = open.remove(at: pick)
            split(parent, leaves: &leaves, open: &open)
        }
        for node in open {
            nodes[node].split = nil
        }
    }

    private func canSplit(_ node: Node, leaves: Int) -> Bool {
        leaves < parameters.maxLeaves && node.depth < parameters.maxDepth && node.count >= 2 * parameters.minSamplesLeaf
    }

    /// Finds the node's best split; keeps it open when there is one, else frees its histogram.
    private func consider(_ index: Int, open: inout [Int]) {
        if let best = bestSplit(nodes[index]) {
            nodes[index].split = best
            open.append(index)
        } else {
            freeSlots.append(nodes[index].histogram)
            nodes[index].histogram = -1
        }
    }

    private func split(_ index: Int, leaves: inout Int, open: inout [Int]) {
        let parent = nodes[index]
        guard let split = parent.split else { return }
        let middle = partitionRows(start: parent.start, end: parent.end, feature: split.feature, bin: split.bin)
        assert(middle - parent.start == split.leftCount)
        var left = Node(
            start: parent.start, end: middle, gradientSum: split.leftGradient, hessianSum: split.leftHessian,
            depth: parent.depth + 1
        )
        var right = Node(
            start: middle, end: parent.end, gradientSum: parent.gradientSum - split.leftGradient,
            hessianSum: parent.hessianSum - split.leftHessian, depth: parent.depth + 1
        )
        leaves += 1
        let splitLeft = canSplit(left, leaves: leaves)
        let splitRight = canSplit(right, leaves: leaves)
        if splitLeft || splitRight {
            // Scan the smaller child; the larger one is the parent minus it, in the parent's slot.
            let slot = freeSlots.removeLast()
            let leftIsSmaller = left.count <= right.count
            if leftIsSmaller {
                buildHistogram(slot: slot, start: left.start, end: left.end, allRows: false)
            } else {
                buildHistogram(slot: slot, start: right.start, end: right.end, allRows: false)
            }
            subtract(slot, from: parent.histogram)
            left.histogram = leftIsSmaller ? slot : parent.histogram
            right.histogram = leftIsSmaller ? parent.histogram : slot
        } else {
            freeSlots.append(parent.histogram)
        }
        let leftIndex = nodes.count
        nodes.append(left)
        nodes.append(right)
        nodes[index].left = leftIndex
        nodes[index].right = leftIndex + 1
        nodes[index].histogram = -1
        for child in [leftIndex, leftIndex + 1] where nodes[child].histogram >= 0 {
            if child == leftIndex ? splitLeft : splitRight {
                consider(child, open: &open)
            } else {
                freeSlots.append(nodes[child].histogram)
                nodes[child].histogram = -1
            }
        }
    }

    /// Stable in-place partition of `partition[start..<end]`: left rows first. Returns the boundary.
    private func partitionRows(start: Int, end: Int, feature: Int, bin: Int) -> Int {
        let column = bins + feature * rowCount
        let limit = UInt8(bin)
        var write = start
        var spilled = 0
        for position in start..<end {
            let row = partition[position]
            if column[Int(row)] <= limit {
                partition[write] = row
                write += 1
            } else {
                scratch[spilled] = row
                spilled += 1
            }
        }
        (partition + write).update(from: scratch, count: spilled)
        return write
    }

    private func buildHistogram(slot: Int, start: Int, end: Int, allRows: Bool) {
        let base = histograms + slot * slotSize
        let count = end - start
        let gradient: UnsafeMutablePointer<Double>
        let hessian: UnsafeMutablePointer<Double>
        if allRows {
            gradient = gradients
            hessian = hessians
        } else {
            let rows = partition + start
            for position in 0..<count {
                let row = Int(rows[position])
                orderedGradients[position] = gradients[row]
                orderedHessians[position] = hessians[row]
            }
            gradient = orderedGradients
            hessian = orderedHessians
        }
        let rows: UnsafePointer<Int32>? = allRows ? nil : UnsafePointer(partition + start)
        for feature in 0..<featureCount {
            accumulate(
                into: base + feature * histogramStride, bins: binCounts[feature], column: bins + feature * rowCount, rows: rows,
                gradient: gradient, hessian: hessian, count: count
            )
        }
    }

    /// Adds (gradient, hessian, 1) of each row to its bin. Large nodes alternate rows between two
    /// histograms, merged at the end, so runs of one bin do not wait on their own previous addition.
    @inline(__always)
    private func accumulate(
        into histogram: UnsafeMutablePointer<Double>, bins: Int, column: UnsafePointer<UInt8>, rows: UnsafePointer<Int32>?,
        gradient: UnsafePointer<Double>, hessian: UnsafePointer<Double>, count: Int
    ) {
        let used = 3 * bins
        histogram.update(repeating: 0, count: used)
        let split = count >= 4 * used
        let second = split ? spare : histogram
        if split { second.update(repeating: 0, count: used) }
        let pairs = count / 2
        if let rows {
            for pair in 0..<pairs {
                let first = 2 * pair
                let a = 3 * Int(column[Int(rows[first])])
                let b = 3 * Int(column[Int(rows[first + 1])])
                histogram[a] += gradient[first]
                histogram[a + 1] += hessian[first]
                histogram[a + 2] += 1
                second[b] += gradient[first + 1]
                second[b + 1] += hessian[first + 1]
                second[b + 2] += 1
            }
        } else {
            for pair in 0..<pairs {
                let first = 2 * pair
                let a = 3 * Int(column[first])
                let b = 3 * Int(column[first + 1])
                histogram[a] += gradient[first]
                histogram[a + 1] += hessian[first]
                histogram[a + 2] += 1
                second[b] += gradient[first + 1]
                second[b + 1] += hessian[first + 1]
                second[b + 2] += 1
            }
        }
        if count % 2 == 1 {
            let last = count - 1
            let a = 3 * Int(column[Int(rows?[last] ?? Int32(last))])
            histogram[a] += gradient[last]
            histogram[a + 1] += hessian[last]
            histogram[a + 2] += 1
        }
        if split {
            for index in 0..<used { histogram[index] += second[index] }
        }
    }

    /// `histograms[target] -= histograms[slot]` over the used bins.
    private func subtract(_ slot: Int, from target: Int) {
        let source = histograms + slot * slotSize
        let destination = histograms + target * slotSize
        for feature in 0..<featureCount {
            let offset = feature * histogramStride
            for index in offset..<(offset + 3 * binCounts[feature]) {
                destination[index] -= source[index]
            }
        }
    }

    /// The split with the largest positive gain G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ) that leaves at
    /// least `minSamplesLeaf` rows and `minChildHessian` hessian on each side; ties go to the lowest
    /// feature, then the lowest bin.
    private func bestSplit(_ node: Node) -> Split? {
        let lambda = parameters.l2Regularization
        let minHessian = parameters.minChildHessian
        let minCount = Double(parameters.minSamplesLeaf)
        let total = Double(node.count)
        let gradientSum = node.gradientSum
        let hessianSum = node.hessianSum
        let parentScore = gradientSum * gradientSum / max(hessianSum + lambda, .leastNormalMagnitude)
        let base = histograms + node.histogram * slotSize
        var best: Split?
        var bestGain = 0.0
        for feature in 0..<featureCount {
            let histogram = base + feature * histogramStride
            var leftGradient = 0.0
            var leftHessian = 0.0
            var leftCount = 0.0
            for bin in 0..<(binCounts[feature] - 1) {
                leftGradient += histogram[3 * bin]
                leftHessian += histogram[3 * bin + 1]
                leftCount += histogram[3 * bin + 2]
                if leftCount < minCount { continue }
                if total - leftCount < minCount { break }
                let rightHessian = hessianSum - leftHessian
                if leftHessian < minHessian || rightHessian < minHessian { continue }
                let leftDenominator = leftHessian + lambda
                let rightDenominator = rightHessian + lambda
                if leftDenominator <= 0 || rightDenominator <= 0 { continue }
                let rightGradient = gradientSum - leftGradient
                let gain = leftGradient * leftGradient / leftDenominator + rightGradient * rightGradient / rightDenominator
                    - parentScore
                if gain > bestGain {
                    bestGain = gain
                    best = Split(
                        feature: feature, bin: bin, gain: gain, leftGradient: leftGradient, leftHessian: leftHessian,
                        leftCount: Int(leftCount)
                    )
                }
            }
        }
        return best
    }
}
