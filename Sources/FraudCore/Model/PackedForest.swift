/// The inference layout of a validated `TreeEnsemble`: 16-byte nodes, each tree in pre-order (a left child
/// is the next node), leaves that loop to themselves, walked branch-free a block of trees at a time.
///
/// A leaf has a −∞ threshold (every x > −∞ goes right) and itself as right child, so a walk may take more
/// steps than its tree is deep and still end on its leaf. Each block of trees takes as many steps as its
/// deepest tree; the trees of a block are independent, so the processor overlaps their memory loads,
/// and the only branches are loop counters, so none is mispredicted. Offsets are in bytes to save
/// instructions in the inner loop.
struct PackedForest: Sendable {
    private struct Node: Sendable {
        /// Split threshold; −∞ for leaves.
        var threshold: Double
        /// Byte offset of the split feature in a row (feature index × 8); 0 for leaves.
        var featureOffset: Int32
        /// Byte offset of the right child in the node array; the node's own for leaves.
        var rightOffset: Int32
    }

    /// Trees walked together.
    private static let blockSize = 16
    private static let nodeSize = MemoryLayout<Node>.stride

    private var nodes: [Node] = []
    /// Leaf values by node index (0 for inner nodes).
    private var values: [Double] = []
    /// Byte offset of each tree's root.
    private var roots: [Int] = []
    /// Steps of each block of `blockSize` trees: the depth of its deepest tree.
    private var blockDepths: [Int] = []
    /// Number of features a row must have.
    let featureCount: Int

    /// Packs an ensemble that passes `validate()`; nil when it has too many nodes for 32-bit byte offsets.
    init?(validated ensemble: TreeEnsemble) {
        guard MemoryLayout<Node>.stride == 16, ensemble.nodeCount < Int(Int32.max) / Self.nodeSize,
            ensemble.featureCount < Int(Int32.max) / 8
        else { return nil }
        featureCount = ensemble.featureCount
        nodes.reserveCapacity(ensemble.nodeCount)
        values.reserveCapacity(ensemble.nodeCount)
        roots.reserveCapacity(ensemble.treeCount)
        var stack: [(node: Int, parent: Int, depth: Int)] = []
        var treeDepths: [Int] = []
        for root in ensemble.treeRoots {
            roots.append(nodes.count * Self.nodeSize)
            var deepest = 0
            stack.append((Int(root), -1, 0))
            while let (node, parent, depth) = stack.popLast() {
                let position = nodes.count
                if parent >= 0 { nodes[parent].rightOffset = Int32(position * Self.nodeSize) }
                let feature = ensemble.nodeFeature[node]
                if feature < 0 {
                    nodes.append(Node(threshold: -.infinity, featureOffset: 0, rightOffset: Int32(position * Self.nodeSize)))
                    values.append(ensemble.nodeValue[node])
                    deepest = max(deepest, depth)
                } else {
                    // + 0 turns a −0 threshold into +0: then x = +0 gives +0 − 0 = +0, not −0, and goes left as x <= −0 says.
                    nodes.append(Node(threshold: ensemble.nodeThreshold[node] + 0, featureOffset: feature * 8, rightOffset: -1))
                    values.append(0)
                    // The right subtree goes after the whole left one: push it first, with its parent.
                    stack.append((Int(ensemble.nodeRight[node]), position, depth + 1))
                    stack.append((Int(ensemble.nodeLeft[node]), -1, depth + 1))
                }
            }
            treeDepths.append(deepest)
        }
        blockDepths = stride(from: 0, to: treeDepths.count, by: Self.blockSize).map {
            treeDepths[$0..<min($0 + Self.blockSize, treeDepths.count)].max() ?? 0
        }
    }

    /// `base` plus every tree's leaf value for the row, added in tree order; nil when a value is NaN or
    /// −∞ (the branch-free comparison is exact only for the others), for the caller's checked walk.
    func margin(base: Double, _ features: UnsafeBufferPointer<Double>) -> Double? {
        precondition(features.count >= featureCount, "TreeEnsemble: \(features.count) features, expected \(featureCount)")
        var walkable = true
        for index in 0..<featureCount where !(features[index] > -.infinity) { walkable = false }
        guard walkable else { return nil }
        var sum = base
        nodes.withUnsafeBytes { nodes in
            values.withUnsafeBufferPointer { values in
                roots.withUnsafeBufferPointer { roots in
                    withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.blockSize) { state in
                        guard let nodes = nodes.baseAddress, let state = state.baseAddress else { return }
                        // With no features there are no inner nodes and every depth is 0: x is never read.
                        let x = UnsafeRawPointer(features.baseAddress) ?? UnsafeRawPointer(bitPattern: 8)!
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
                                    // Right when threshold − x < 0, i.e. x > threshold (exact for x > −∞ and a
                                    // finite threshold; a leaf's −∞ threshold always goes right, to itself). The
                                    // sign bit becomes a mask, so the compiler emits no branch to mispredict.
                                    let difference = threshold - x.load(fromByteOffset: feature, as: Double.self)
                                    let mask = Int(bitPattern: UInt(difference.bitPattern)) >> 63
                                    let left = offset &+ Self.nodeSize
                                    state[tree] = left &+ ((right &- left) & mask)
                                }
                            }
                            for tree in 0..<count { sum += values[state[tree] / Self.nodeSize] }
                        }
                    }
                }
            }
        }
        return sum
    }
}
