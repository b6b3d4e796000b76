/// The inference layout of validated ``ImportedTrees``, as ``PackedForest`` is for FraudStream's own: 16-byte nodes in
/// pre-order (a left child is the next node), leaves that loop to themselves, a block of trees walked together with
/// no branch but the loop counters.
///
/// Every library's comparison becomes one on `Double`: a single-precision model's thresholds are `Float` values and
/// its input is rounded to `Float` once per row (``ImportedModel`` does it), so `Float(x) < t` is the same test as
/// `Double(Float(x)) < Double(t)`. A node goes right when `x > t` (`<=` models) or `x >= t` (`<` models), read off the
/// sign of a difference. That holds only for rows of finite values (a missing value has its own direction per node,
/// and a difference of infinities has no sign), which ``margin(_:)`` checks; other rows, and models whose nodes treat
/// zero as missing, take the checked walk of ``ImportedTrees/margin(_:)``.
struct PackedImportedForest: Sendable {
    private struct Node: Sendable {
        /// Split threshold; −∞ for leaves.
        var threshold: Double
        /// Byte offset of the split feature in a row (feature index × 8); 0 for leaves.
        var featureOffset: Int32
        /// Byte offset of the right child; the node's own for leaves.
        var rightOffset: Int32
    }

    private static let blockSize = 16
    private static let nodeSize = MemoryLayout<Node>.stride

    private var nodes: [Node] = []
    private var values: [Double] = []
    private var roots: [Int] = []
    private var blockDepths: [Int] = []
    private let strict: Bool
    private let sumsInFloat32: Bool
    private let base: Double
    let featureCount: Int

    /// Packs `trees` (which passed `validate()`); nil when a node treats zero as missing or the offsets overflow.
    init?(validated trees: ImportedTrees) {
        guard MemoryLayout<Node>.stride == 16, trees.nodeCount < Int(Int32.max) / Self.nodeSize,
            trees.featureNames.count < Int(Int32.max) / 8, !trees.missing.contains(.zero)
        else { return nil }
        strict = trees.arithmetic.isStrict
        sumsInFloat32 = trees.sumsInFloat32
        base = trees.baseMargin
        featureCount = trees.featureNames.count
        nodes.reserveCapacity(trees.nodeCount)
        values.reserveCapacity(trees.nodeCount)
        var stack: [(node: Int, parent: Int, depth: Int)] = []
        var treeDepths: [Int] = []
        for root in trees.roots {
            roots.append(nodes.count * Self.nodeSize)
            var deepest = 0
            stack.append((Int(root), -1, 0))
            while let (node, parent, depth) = stack.popLast() {
                let position = nodes.count
                if parent >= 0 { nodes[parent].rightOffset = Int32(position * Self.nodeSize) }
                if trees.feature[node] < 0 {
                    nodes.append(Node(threshold: -.infinity, featureOffset: 0, rightOffset: Int32(position * Self.nodeSize)))
                    values.append(trees.value[node])
                    deepest = max(deepest, depth)
                } else {
                    // −0 as +0: with the row's −0 read as +0 too, a difference of equal values is +0, never −0.
                    let threshold = (trees.arithmetic.isFloat32 ? Double(Float(trees.threshold[node])) : trees.threshold[node]) + 0
                    nodes.append(Node(threshold: threshold, featureOffset: trees.feature[node] * 8, rightOffset: -1))
                    values.append(0)
                    stack.append((Int(trees.right[node]), position, depth + 1))
                    stack.append((Int(trees.left[node]), -1, depth + 1))
                }
            }
            treeDepths.append(deepest)
        }
        blockDepths = stride(from: 0, to: treeDepths.count, by: Self.blockSize).map {
            treeDepths[$0..<min($0 + Self.blockSize, treeDepths.count)].max() ?? 0
        }
    }

    /// The margin of a row in the model's feature order (already rounded to `Float` for single-precision models);
    /// nil when a value is NaN or −∞, for the checked walk.
    func margin(_ row: UnsafeMutableBufferPointer<Double>) -> Double? {
        guard row.count >= featureCount else { return nil }
        for index in 0..<featureCount {
            guard row[index].isFinite else { return nil }
            row[index] += 0  // −0 becomes +0
        }
        let row = UnsafeBufferPointer(row)
        // The sign bit of a difference, as a 0/−1 mask: for a finite x, right when t − x < 0 (x > t) for `<=` models,
        // when x − t ≥ 0 (x ≥ t; x − t is +0 when equal) for `<` ones. A leaf's −∞ threshold goes right either way,
        // an infinite threshold (LightGBM writes them) the way its comparison does.
        if strict {
            return walk(row) { x, threshold in ~(Int(bitPattern: UInt((x - threshold).bitPattern)) >> 63) }
        }
        return walk(row) { x, threshold in Int(bitPattern: UInt((threshold - x).bitPattern)) >> 63 }
    }

    @inline(__always)
    private func walk(_ row: UnsafeBufferPointer<Double>, rightMask: (Double, Double) -> Int) -> Double {
        var doubleSum = base
        var floatSum = Float(base)
        nodes.withUnsafeBytes { nodes in
            values.withUnsafeBufferPointer { values in
                roots.withUnsafeBufferPointer { roots in
                    withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.blockSize) { state in
                        guard let nodes = nodes.baseAddress, let state = state.baseAddress else { return }
                        let x = UnsafeRawPointer(row.baseAddress) ?? UnsafeRawPointer(bitPattern: 8)!
                        for (block, depth) in blockDepths.enumerated() {
                            let first = block * Self.blockSize
                            let count = min(Self.blockSize, roots.count - first)
                            for tree in 0..<count { state[tree] = roots[first + tree] }
                            for _ in 0..<depth {
                                for tree in 0..<count {
                                    let offset = state[tree]
                                    let threshold = nodes.load(fromByteOffset: offset, as: Double.self)
                                    let feature = Int(nodes.load(fromByteOffset: offset &+ 8, as: Int32.self))
                                    let right = Int(nodes.load(fromByteOffset: offset &+ 12, as: Int32.self))
                                    let value = x.load(fromByteOffset: feature, as: Double.self)
                                    let mask = rightMask(value, threshold)
                                    let left = offset &+ Self.nodeSize
                                    state[tree] = left &+ ((right &- left) & mask)
                                }
                            }
                            if sumsInFloat32 {
                                for tree in 0..<count { floatSum += Float(values[state[tree] / Self.nodeSize]) }
                            } else {
                                for tree in 0..<count { doubleSum += values[state[tree] / Self.nodeSize] }
                            }
                        }
                    }
                }
            }
        }
        return sumsInFloat32 ? Double(floatSum) : doubleSum
    }
}
