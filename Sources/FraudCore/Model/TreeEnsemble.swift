/// A trained gradient-boosted tree ensemble as plain data (numbers and arrays, nothing executable),
/// with fast single-row inference.
///
/// All trees share flat node arrays. Tree `t` owns the nodes `treeRoots[t] ..< treeRoots[t + 1]` (the last
/// tree runs to the end), stored in pre-order, so children always come after their parent. Node `n` is a
/// leaf when `nodeFeature[n] == -1`; otherwise a row goes to `nodeLeft[n]` when
/// `features[nodeFeature[n]] <= nodeThreshold[n]` and to `nodeRight[n]` otherwise (NaN goes right).
/// The margin (log-odds) of a row is `baseMargin` plus the `nodeValue` of the leaf it reaches in every tree.
public struct TreeEnsemble: Sendable, Codable, Equatable {
    /// Feature names in input order; scoring code must feed vectors in exactly this order.
    public var featureNames: [String] { didSet { packed = nil } }
    /// Length of an input vector.
    public var featureCount: Int { didSet { packed = nil } }
    /// Log-odds of the training prior, the margin before any tree.
    public var baseMargin: Double { didSet { packed = nil } }
    /// First node of each tree.
    public var treeRoots: [Int32] { didSet { packed = nil } }
    /// Split feature of each node; -1 for leaves.
    public var nodeFeature: [Int32] { didSet { packed = nil } }
    /// Split threshold of each node (rows with value <= threshold go left); 0 for leaves.
    public var nodeThreshold: [Double] { didSet { packed = nil } }
    /// Left child of each node; -1 for leaves.
    public var nodeLeft: [Int32] { didSet { packed = nil } }
    /// Right child of each node; -1 for leaves.
    public var nodeRight: [Int32] { didSet { packed = nil } }
    /// For leaves, what the tree adds to the margin (already scaled by the learning rate); for inner
    /// nodes, what it would add had the node been a leaf (used by `contributions`).
    public var nodeValue: [Double] { didSet { packed = nil } }

    /// Creates an ensemble from its arrays, unchecked; call `validate()` on anything not made by the trainer.
    public init(
        featureNames: [String], featureCount: Int, baseMargin: Double, treeRoots: [Int32], nodeFeature: [Int32],
        nodeThreshold: [Double], nodeLeft: [Int32], nodeRight: [Int32], nodeValue: [Double]
    ) {
        self.featureNames = featureNames
        self.featureCount = featureCount
        self.baseMargin = baseMargin
        self.treeRoots = treeRoots
        self.nodeFeature = nodeFeature
        self.nodeThreshold = nodeThreshold
        self.nodeLeft = nodeLeft
        self.nodeRight = nodeRight
        self.nodeValue = nodeValue
        pack()
    }

    /// The validated inference layout; built by init and decoding, dropped when a stored property
    /// changes (inference then takes the checked path over the arrays until `prepareForInference()`).
    private var packed: PackedForest?

    /// Rebuilds the fast inference layout after the arrays were edited in place; throws what `validate()` throws.
    public mutating func prepareForInference() throws(FraudError) {
        try validate()
        packed = PackedForest(validated: self)
        servedIndex = Self.servedIndex(of: featureNames)
    }

    private mutating func pack() {
        packed = (try? validate()) != nil ? PackedForest(validated: self) : nil
        servedIndex = Self.servedIndex(of: featureNames)
    }

    /// Where each of the ensemble's features is in ``FeatureSchema/names``: nil when they are exactly the served ones
    /// in order (the common case: the row is read as it is), or when a name is not served (``ModelStore`` refuses
    /// such a model). Derived, like the packed layout.
    public private(set) var servedIndex: [Int]?

    private static func servedIndex(of names: [String]) -> [Int]? {
        guard names != FeatureSchema.names else { return nil }
        let positions = names.compactMap { FeatureSchema.index(of: $0) }
        return positions.count == names.count ? positions : nil
    }

    /// The stored keys; the inference layout is derived, not stored.
    private enum CodingKeys: String, CodingKey {
        case featureNames, featureCount, baseMargin, treeRoots, nodeFeature, nodeThreshold, nodeLeft, nodeRight, nodeValue
    }

    /// Decodes the arrays, rejects them with `DecodingError.dataCorrupted` when `validate()` fails,
    /// and prepares the inference layout.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            featureNames: try container.decode([String].self, forKey: .featureNames),
            featureCount: try container.decode(Int.self, forKey: .featureCount),
            baseMargin: try container.decode(Double.self, forKey: .baseMargin),
            treeRoots: try container.decode([Int32].self, forKey: .treeRoots),
            nodeFeature: try container.decode([Int32].self, forKey: .nodeFeature),
            nodeThreshold: try container.decode([Double].self, forKey: .nodeThreshold),
            nodeLeft: try container.decode([Int32].self, forKey: .nodeLeft),
            nodeRight: try container.decode([Int32].self, forKey: .nodeRight),
            nodeValue: try container.decode([Double].self, forKey: .nodeValue)
        )
        do {
            try validate()
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    /// Equal when every stored array and number is equal (the derived inference layout is ignored).
    public static func == (lhs: TreeEnsemble, rhs: TreeEnsemble) -> Bool {
        lhs.featureNames == rhs.featureNames && lhs.featureCount == rhs.featureCount && lhs.baseMargin == rhs.baseMargin
            && lhs.treeRoots == rhs.treeRoots && lhs.nodeFeature == rhs.nodeFeature && lhs.nodeThreshold == rhs.nodeThreshold
            && lhs.nodeLeft == rhs.nodeLeft && lhs.nodeRight == rhs.nodeRight && lhs.nodeValue == rhs.nodeValue
    }

    /// Number of trees.
    public var treeCount: Int { treeRoots.count }
    /// Number of nodes, inner and leaf, over all trees.
    public var nodeCount: Int { nodeFeature.count }
    /// Number of leaves over all trees.
    public var leafCount: Int { nodeFeature.reduce(0) { $0 + ($1 < 0 ? 1 : 0) } }

    /// Log-odds of a row whose values are in `featureNames` order.
    public func margin<C: Collection>(_ features: C) -> Double where C.Element == Double {
        if let result = features.withContiguousStorageIfAvailable({ margin($0) }) { return result }
        return Array(features).withUnsafeBufferPointer { margin($0) }
    }

    /// Log-odds of a row whose values are in `featureNames` order.
    ///
    /// Memory-safe and terminating even on an ensemble that fails `validate()`: it then traps instead.
    public func margin(_ features: UnsafeBufferPointer<Double>) -> Double {
        precondition(features.count >= featureCount, "TreeEnsemble: \(features.count) features, expected \(featureCount)")
        if let packed, let sum = packed.margin(base: baseMargin, features) { return sum }
        return checkedMargin(features)
    }

    /// Walks the public arrays with a check at every step: for ensembles edited since they were packed,
    /// and for rows with NaN (which goes right) or −∞.
    private func checkedMargin(_ features: UnsafeBufferPointer<Double>) -> Double {
        let count = nodeFeature.count
        precondition(
            nodeThreshold.count == count && nodeLeft.count == count && nodeRight.count == count && nodeValue.count == count,
            "TreeEnsemble: node arrays differ in length; call validate()"
        )
        let limit = UInt(count)
        let width = UInt(features.count)
        var sum = baseMargin
        nodeFeature.withUnsafeBufferPointer { feature in
            nodeThreshold.withUnsafeBufferPointer { threshold in
                nodeLeft.withUnsafeBufferPointer { left in
                    nodeRight.withUnsafeBufferPointer { right in
                        nodeValue.withUnsafeBufferPointer { value in
                            for root in treeRoots {
                                var node = Int(root)
                                precondition(UInt(bitPattern: node) < limit, "TreeEnsemble: bad root; call validate()")
                                while true {
                                    let split = Int(feature[node])
                                    if split < 0 { break }
                                    precondition(UInt(bitPattern: split) < width, "TreeEnsemble: bad feature; call validate()")
                                    let next = Int(features[split] <= threshold[node] ? left[node] : right[node])
                                    // Children come after their parent: this bounds every walk.
                                    precondition(next > node && UInt(next) < limit, "TreeEnsemble: bad child; call validate()")
                                    node = next
                                }
                                sum += value[node]
                            }
                        }
                    }
                }
            }
        }
        return sum
    }

    /// Probability of the positive class for a row in `featureNames` order.
    public func probability(_ features: [Double]) -> Double {
        ModelEvaluation.logistic(features.withUnsafeBufferPointer { margin($0) })
    }

    /// Probability of the positive class for a row in `featureNames` order.
    public func probability(_ features: UnsafeBufferPointer<Double>) -> Double {
        ModelEvaluation.logistic(margin(features))
    }

    /// Probability of the positive class for a row in `featureNames` order (e.g. `TrainingSet.row(_:)`).
    public func probability<C: Collection>(_ features: C) -> Double where C.Element == Double {
        ModelEvaluation.logistic(margin(features))
    }

    /// Splits a row's margin into a base plus one share per feature (Saabas path attribution): along
    /// each tree's path, the change in node value at a split is credited to the split's feature.
    /// `base + features.reduce(0, +)` equals `margin(_:)` up to rounding; large shares are the "reasons".
    public func contributions(_ features: [Double]) -> (base: Double, features: [Double]) {
        precondition(features.count >= featureCount, "TreeEnsemble: \(features.count) features, expected \(featureCount)")
        var shares = [Double](repeating: 0, count: featureCount)
        var base = baseMargin
        for root in treeRoots {
            var node = Int(root)
            base += nodeValue[node]
            while nodeFeature[node] >= 0 {
                let split = Int(nodeFeature[node])
                let next = Int(features[split] <= nodeThreshold[node] ? nodeLeft[node] : nodeRight[node])
                precondition(next > node, "TreeEnsemble: bad child; call validate()")
                shares[split] += nodeValue[next] - nodeValue[node]
                node = next
            }
        }
        return (base, shares)
    }

    /// Checks internal consistency: array lengths, feature names, every tree a proper pre-order tree
    /// inside its own node range, feature indices below `featureCount`, all numbers finite.
    public func validate() throws(FraudError) {
        func fail(_ message: String) -> FraudError { FraudError(.invalidModel, "tree ensemble: " + message) }
        let count = nodeFeature.count
        guard featureCount >= 0 else { throw fail("featureCount is \(featureCount)") }
        guard featureNames.count == featureCount else {
            throw fail("\(featureNames.count) feature names for featureCount \(featureCount)")
        }
        guard nodeThreshold.count == count, nodeLeft.count == count, nodeRight.count == count, nodeValue.count == count else {
            throw fail(
                "node arrays differ in length (feature \(count), threshold \(nodeThreshold.count), left \(nodeLeft.count), "
                    + "right \(nodeRight.count), value \(nodeValue.count))"
            )
        }
        guard baseMargin.isFinite else { throw fail("baseMargin is \(baseMargin)") }
        guard count < Int(Int32.max) else { throw fail("too many nodes (\(count))") }
        var reached = [Bool](repeating: false, count: count)
        for (tree, root) in treeRoots.enumerated() {
            let start = Int(root)
            let end = tree + 1 < treeRoots.count ? Int(treeRoots[tree + 1]) : count
            guard start >= 0, start < end, end <= count else {
                throw fail("tree \(tree) has node range \(start)..<\(end) outside 0..<\(count) or empty")
            }
            guard tree > 0 || start == 0 else { throw fail("the first tree starts at node \(start), not 0") }
            reached[start] = true
            for node in start..<end {
                guard reached[node] else { throw fail("node \(node) of tree \(tree) is not reachable from its root") }
                guard nodeValue[node].isFinite else { throw fail("node \(node) has value \(nodeValue[node])") }
                let feature = Int(nodeFeature[node])
                let left = Int(nodeLeft[node])
                let right = Int(nodeRight[node])
                if feature == -1 {
                    guard left == -1, right == -1 else { throw fail("leaf \(node) has children \(left), \(right)") }
                    continue
                }
                guard feature >= 0, feature < featureCount else {
                    throw fail("node \(node) splits on feature \(feature), outside 0..<\(featureCount)")
                }
                guard nodeThreshold[node].isFinite else { throw fail("node \(node) has threshold \(nodeThreshold[node])") }
                for child in [left, right] {
                    guard child > node, child < end else {
                        throw fail("node \(node) has child \(child), outside \(node + 1)..<\(end) of tree \(tree)")
                    }
                    guard !reached[child] else { throw fail("node \(child) has two parents") }
                    reached[child] = true
                }
            }
        }
        if treeRoots.isEmpty && count > 0 { throw fail("\(count) nodes but no trees") }
    }
}
