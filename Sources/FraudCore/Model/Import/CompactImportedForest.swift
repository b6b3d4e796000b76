/// The smallest inference layout, for single-precision models (XGBoost, and ONNX on a `float` input) whose leaf values
/// are `Float`s: 8-byte nodes, half of ``PackedImportedForest``'s, and no separate leaf array, so 500 trees of depth 8
/// take 2 MB instead of 6 and a walk misses the cache half as often.
///
/// A node is one `UInt64`: the low 32 bits hold the threshold (inner nodes) or the leaf value (leaves) as a `Float`;
/// the high 32 bits hold bit 0 = inner, bits 1–12 = the split feature, bits 13–31 = how many nodes ahead the right child
/// is (the left child is the next node, in pre-order). A leaf's "children" are itself, so a block of trees walks as
/// many steps as its deepest tree without a branch. The row is the model's input rounded to `Float` (as these
/// libraries compare), finite, with −0 read as +0; a node goes right when the sign of `x − t` (`<` models) or `t − x`
/// (`<=` models) says so.
struct CompactImportedForest: Sendable {
    private static let blockSize = 16
    private static let maximumFeatures = 1 << 12
    private static let maximumDelta = (1 << 19) - 1

    private var nodes: [UInt64] = []
    private var roots: [Int] = []
    private var blockDepths: [Int] = []
    private let strict: Bool
    private let sumsInFloat32: Bool
    private let base: Double
    let featureCount: Int

    /// Lays out `trees` (which passed `validate()`); nil unless it is a single-precision model whose leaves are
    /// `Float`s, with at most 4,096 features, no node treating zero as missing and right children within 2^19 nodes.
    init?(validated trees: ImportedTrees) {
        guard trees.arithmetic.isFloat32, trees.featureNames.count <= Self.maximumFeatures, !trees.missing.contains(.zero) else { return nil }
        strict = trees.arithmetic.isStrict
        sumsInFloat32 = trees.sumsInFloat32
        base = trees.baseMargin
        featureCount = trees.featureNames.count
        nodes.reserveCapacity(trees.nodeCount)
        var stack: [(node: Int, parent: Int, depth: Int)] = []
        var treeDepths: [Int] = []
        for root in trees.roots {
            roots.append(nodes.count)
            var deepest = 0
            stack.append((Int(root), -1, 0))
            while let (node, parent, depth) = stack.popLast() {
                let position = nodes.count
                if parent >= 0 {
                    let delta = position - parent
                    guard delta <= Self.maximumDelta else { return nil }
                    nodes[parent] |= UInt64(delta) << 45
                }
                if trees.feature[node] < 0 {
                    let value = Float(trees.value[node])
                    guard Double(value) == trees.value[node] else { return nil }
                    nodes.append(UInt64(value.bitPattern))
                    deepest = max(deepest, depth)
                } else {
                    // −0 as +0: with the row's −0 read as +0 too, a difference of equal values is +0.
                    let threshold = Float(trees.threshold[node]) + 0
                    nodes.append(UInt64((threshold == 0 ? 0 : threshold).bitPattern) | (1 << 32) | (UInt64(trees.feature[node]) << 33))
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

    /// The margin of a row in the model's feature order, already rounded to `Float`; nil when a value is not finite.
    func margin(_ row: UnsafeMutableBufferPointer<Float>) -> Double? {
        guard row.count >= featureCount else { return nil }
        for index in 0..<featureCount {
            guard row[index].isFinite else { return nil }
            row[index] += 0  // −0 becomes +0
        }
        if strict {
            return walk(UnsafeBufferPointer(row)) { x, threshold in ~(Int(Int32(bitPattern: (x - threshold).bitPattern)) >> 31) }
        }
        return walk(UnsafeBufferPointer(row)) { x, threshold in Int(Int32(bitPattern: (threshold - x).bitPattern)) >> 31 }
    }

    @inline(__always)
    private func walk(_ row: UnsafeBufferPointer<Float>, rightMask: (Float, Float) -> Int) -> Double {
        var doubleSum = base
        var floatSum = Float(base)
        nodes.withUnsafeBufferPointer { nodes in
            roots.withUnsafeBufferPointer { roots in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: Self.blockSize) { state in
                    guard let nodes = nodes.baseAddress, let state = state.baseAddress else { return }
                    // A model without features has no inner node and every depth 0: x is never read.
                    let x = row.baseAddress ?? UnsafePointer(bitPattern: 4)!
                    for (block, depth) in blockDepths.enumerated() {
                        let first = block * Self.blockSize
                        let count = min(Self.blockSize, roots.count - first)
                        for tree in 0..<count { state[tree] = roots[first + tree] }
                        for _ in 0..<depth {
                            for tree in 0..<count {
                                let at = state[tree]
                                let word = nodes[at]
                                let meta = Int(truncatingIfNeeded: word >> 32)
                                let inner = meta & 1
                                let value = x[(meta >> 1) & 0xFFF]
                                let mask = rightMask(value, Float(bitPattern: UInt32(truncatingIfNeeded: word)))
                                // Left is the next node (an inner node) or itself (a leaf); right is `delta` ahead (0: itself).
                                state[tree] = at &+ inner &+ (((meta >> 13) &- inner) & mask)
                            }
                        }
                        if sumsInFloat32 {
                            for tree in 0..<count { floatSum += Float(bitPattern: UInt32(truncatingIfNeeded: nodes[state[tree]])) }
                        } else {
                            for tree in 0..<count { doubleSum += Double(Float(bitPattern: UInt32(truncatingIfNeeded: nodes[state[tree]]))) }
                        }
                    }
                }
            }
        }
        return sumsInFloat32 ? Double(floatSum) : doubleSum
    }
}
