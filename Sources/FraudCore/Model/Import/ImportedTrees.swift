import Foundation

/// A binary-classification tree ensemble trained by another library, held as data with that library's arithmetic
/// (stored in a ``ModelRecord`` through ``ImportedModel`` and served like FraudStream's own trees).
///
/// Nodes are flat arrays; a tree walks from its root to a leaf, and the leaves are summed onto the base margin in
/// tree order. How a node compares and sums is the library's (``Arithmetic``): XGBoost rounds the input to `Float`,
/// goes left when it is below the threshold and sums in `Float`; LightGBM compares the `Double` input with `<=` and
/// sums in `Double`. A missing value (NaN) goes the way the node's ``Missing`` says.
public struct ImportedTrees: Sendable, Equatable, Codable {
    /// The library the model came from.
    public enum Library: String, Sendable, Equatable, Codable { case xgboost, lightgbm, onnx }

    /// How nodes compare and leaves add up.
    public enum Arithmetic: String, Sendable, Equatable, Codable {
        /// `Float(x) < threshold` (XGBoost's CPU predictor; ONNX `BRANCH_LT` on a float tensor).
        case float32Below
        /// `Float(x) <= threshold` (ONNX `BRANCH_LEQ` on a float tensor).
        case float32AtMost
        /// `x <= threshold` in `Double` (LightGBM's `NumericalDecision`; ONNX `BRANCH_LEQ` on a double tensor).
        case doubleAtMost
        /// `x < threshold` in `Double` (ONNX `BRANCH_LT` on a double tensor).
        case doubleBelow

        /// Whether inputs, thresholds and sums are single precision.
        public var isFloat32: Bool { self == .float32Below || self == .float32AtMost }
        /// Whether a value equal to the threshold goes right.
        public var isStrict: Bool { self == .float32Below || self == .doubleBelow }
    }

    /// What a node does with a missing value.
    public enum Missing: UInt8, Sendable, Equatable, Codable {
        /// NaN goes to the default side (XGBoost always; LightGBM's missing type `NaN`).
        case nan
        /// NaN and zero go to the default side (LightGBM's missing type `Zero`).
        case zero
        /// NaN is compared as 0 (LightGBM's missing type `None`).
        case none
    }

    /// Where the model came from.
    public var library: Library
    /// The library's version as the file records it (`2.1.0`, `v4`), or empty.
    public var libraryVersion: String
    /// The features the model reads, in its own order (every split's feature index is below its count: the parsers
    /// check it, which is what lets ``margin(_:)`` read rows without bounds checks).
    public internal(set) var featureNames: [String]
    /// The objective as the library names it (`binary:logistic`, `binary sigmoid:1`).
    public var objective: String
    /// Whether the probability is the logistic of the margin (`false`: the margin itself, `binary:logitraw`).
    public var appliesLogistic: Bool
    /// The logistic's slope: probability = 1 / (1 + exp(−slope × margin)) (LightGBM's `sigmoid:`; 1 for XGBoost).
    public var logisticSlope: Double = 1
    /// How nodes compare.
    public var arithmetic: Arithmetic
    /// Whether leaves are summed (and the logistic taken) in `Float`, as XGBoost does; ONNX and LightGBM sum in
    /// `Double` (an ONNX forest's leaves are `float` shares of a probability, and a `Double` sum of them stays within
    /// 1e-7 of scikit-learn's).
    public var sumsInFloat32: Bool
    /// The margin every row starts from.
    public var baseMargin: Double
    /// Each tree's root node.
    public var roots: [Int32]
    /// Per node: the feature index it splits on, or −1 for a leaf.
    public var feature: [Int32]
    /// Per node: the split threshold (inner nodes; XGBoost's are `Float` values).
    public var threshold: [Double]
    /// Per node: the left and right children (inner nodes).
    public var left: [Int32]
    public var right: [Int32]
    /// Per node: whether a missing value goes left.
    public var defaultLeft: [Bool]
    /// Per node: what counts as missing.
    public var missing: [Missing]
    /// Per node: the leaf value (leaves).
    public var value: [Double]

    /// An empty ensemble to append trees to.
    init(
        library: Library, libraryVersion: String, featureNames: [String], objective: String, appliesLogistic: Bool,
        arithmetic: Arithmetic, baseMargin: Double
    ) {
        self.library = library
        self.libraryVersion = libraryVersion
        self.featureNames = featureNames
        self.objective = objective
        self.appliesLogistic = appliesLogistic
        self.arithmetic = arithmetic
        self.sumsInFloat32 = library == .xgboost
        self.baseMargin = baseMargin
        roots = []
        feature = []
        threshold = []
        left = []
        right = []
        defaultLeft = []
        missing = []
        value = []
    }

    /// Adds `count` nodes, all leaves of value 0 until set; returns the index of the first.
    mutating func addNodes(_ count: Int) -> Int {
        let first = feature.count
        feature += [Int32](repeating: -1, count: count)
        threshold += [Double](repeating: 0, count: count)
        left += [Int32](repeating: -1, count: count)
        right += [Int32](repeating: -1, count: count)
        defaultLeft += [Bool](repeating: false, count: count)
        missing += [Missing](repeating: .nan, count: count)
        value += [Double](repeating: 0, count: count)
        return first
    }

    /// The margin of one row given in the model's feature order (NaN for a missing value); NaN for a row shorter
    /// than ``featureNames``. The checked walk, node by node with the library's rules; ``PackedImportedForest`` is the
    /// fast one for rows without NaN.
    public func margin(_ row: [Double]) -> Double {
        guard row.count >= featureNames.count else { return .nan }
        if sumsInFloat32 {
            var sum = Float(baseMargin)
            for root in roots { sum += Float(value[leaf(row, from: Int(root))]) }
            return Double(sum)
        }
        var sum = baseMargin
        for root in roots { sum += value[leaf(row, from: Int(root))] }
        return sum
    }

    /// The leaf a row reaches from `root`.
    func leaf(_ row: [Double], from root: Int) -> Int {
        var node = root
        while feature[node] >= 0 {
            node = Int(goesLeft(row[Int(feature[node])], at: node) ? left[node] : right[node])
        }
        return node
    }

    /// The probability of fraud for one row in the model's feature order.
    public func probability(_ row: [Double]) -> Double {
        transform(margin(row))
    }

    /// The probability for a margin: the logistic (in `Float` when the library sums in `Float`) or the margin itself.
    func transform(_ margin: Double) -> Double {
        guard appliesLogistic else { return margin }
        if sumsInFloat32 { return Double(1 / (1 + Float.exp(-Float(margin)))) }
        return 1 / (1 + Foundation.exp(-logisticSlope * margin))
    }

    /// Number of trees.
    public var treeCount: Int { roots.count }
    /// Number of nodes, inner and leaf.
    public var nodeCount: Int { feature.count }

    /// Checks what the walk relies on, for trees read back from storage rather than from a parser: equal array
    /// lengths, every tree's nodes reached once from its root within ``ImportLimits/maximumDepth``, children inside
    /// the arrays, split features below ``featureNames``' count, finite leaf values and no NaN threshold (LightGBM writes
    /// `inf` for a split that sends every value one way).
    public func validate(limits: ImportLimits = ImportLimits()) throws(FraudError) {
        func fail(_ why: String) -> FraudError { FraudError(.invalidModel, "imported trees: \(why)") }
        let count = feature.count
        guard threshold.count == count, left.count == count, right.count == count, defaultLeft.count == count, missing.count == count,
            value.count == count
        else { throw fail("node arrays differ in length") }
        guard count <= limits.maximumNodes, roots.count <= limits.maximumTrees, featureNames.count <= limits.maximumFeatures else {
            throw fail("\(roots.count) trees, \(count) nodes, \(featureNames.count) features exceed the import limits")
        }
        guard baseMargin.isFinite, logisticSlope.isFinite, logisticSlope > 0 else { throw fail("the base margin or the logistic slope is not finite") }
        var reached = [Bool](repeating: false, count: count)
        for (tree, root) in roots.enumerated() {
            var stack = [(node: Int(root), depth: 0)]
            while let (node, depth) = stack.popLast() {
                guard (0..<count).contains(node), !reached[node] else { throw fail("tree \(tree) reaches node \(node) twice or outside the arrays") }
                reached[node] = true
                guard depth <= limits.maximumDepth else { throw fail("tree \(tree) is deeper than \(limits.maximumDepth)") }
                guard value[node].isFinite else { throw fail("node \(node) has a non-finite value") }
                if feature[node] < 0 { continue }
                guard Int(feature[node]) < featureNames.count, !threshold[node].isNaN else {
                    throw fail("node \(node) splits on feature \(feature[node]) of \(featureNames.count) or at a NaN threshold")
                }
                stack.append((Int(left[node]), depth + 1))
                stack.append((Int(right[node]), depth + 1))
            }
        }
    }

    /// Each node's value had the tree stopped there: the mean of the leaves below it (every node's own value for a
    /// leaf). Tree-path contributions credit the change along a path to the split's feature.
    func nodeMeans() -> [Double] {
        var means = value
        var leaves = [Double](repeating: 1, count: feature.count)
        // Children before parents: a post-order from each root.
        for root in roots {
            var stack = [(node: Int(root), expanded: false)]
            while let (node, expanded) = stack.popLast() {
                guard feature[node] >= 0 else { continue }
                if expanded {
                    let l = Int(left[node]), r = Int(right[node])
                    leaves[node] = leaves[l] + leaves[r]
                    means[node] = (means[l] * leaves[l] + means[r] * leaves[r]) / leaves[node]
                } else {
                    stack.append((node, true))
                    stack.append((Int(left[node]), false))
                    stack.append((Int(right[node]), false))
                }
            }
        }
        return means
    }

    /// Whether a row's value at `node` goes left, with the library's comparison and missing-value rule.
    @inline(__always)
    func goesLeft(_ x: Double, at node: Int) -> Bool {
        switch missing[node] {
        case .nan where x.isNaN, .zero where x.isNaN || abs(x) <= 1e-35: return defaultLeft[node]
        default: break
        }
        let x = x.isNaN ? 0 : x
        switch arithmetic {
        case .float32Below: return Float(x) < Float(threshold[node])
        case .float32AtMost: return Float(x) <= Float(threshold[node])
        case .doubleAtMost: return x <= threshold[node]
        case .doubleBelow: return x < threshold[node]
        }
    }

    /// A row's margin split into a base and one share per model feature (tree-path attribution with ``nodeMeans()``):
    /// `base + shares.reduce(0, +)` is the margin, up to rounding.
    func contributions(_ row: [Double], means: [Double]) -> (base: Double, features: [Double]) {
        var shares = [Double](repeating: 0, count: featureNames.count)
        var base = baseMargin
        guard row.count >= featureNames.count else { return (.nan, shares) }
        for root in roots {
            var node = Int(root)
            base += means[node]
            while feature[node] >= 0 {
                let split = Int(feature[node])
                let next = Int(goesLeft(row[split], at: node) ? left[node] : right[node])
                shares[split] += means[next] - means[node]
                node = next
            }
        }
        return (base, shares)
    }
}

/// What an imported model may hold: a model file is data from outside, so nothing in it may make the importer
/// allocate or walk without bound.
public struct ImportLimits: Sendable {
    /// The largest file read, in bytes.
    public var maximumBytes = 256 << 20
    /// The most trees.
    public var maximumTrees = 20_000
    /// The most nodes, over all trees.
    public var maximumNodes = 20_000_000
    /// The deepest path from a root to a leaf.
    public var maximumDepth = 256
    /// The most features.
    public var maximumFeatures = 10_000

    public init() {}
}

extension Float {
    /// `exp` in single precision, as the libraries compute the logistic of a `float` margin.
    static func exp(_ x: Float) -> Float { Foundation.expf(x) }
}

extension ImportedTrees {
    /// Maps the model's features, by name, onto positions of the vector FraudStream computes (``FeatureSchema/names``):
    /// `index[i]` is where the model's i-th feature is in that vector. Computed once, so building a model's input
    /// costs no lookup per transaction. A name FraudStream does not compute is an error that lists the ones it does.
    public func featureIndex(into served: [String] = FeatureSchema.names) throws(FraudError) -> [Int] {
        var position: [String: Int] = [:]
        for (index, name) in served.enumerated() { position[name] = index }
        var index: [Int] = []
        var unknown: [String] = []
        for name in featureNames {
            if let at = position[name] { index.append(at) } else { unknown.append(name) }
        }
        guard unknown.isEmpty else {
            throw FraudError(
                .invalidData,
                "the model reads \(unknown.count == 1 ? "a feature" : "features") FraudStream does not compute: "
                    + "\(unknown.prefix(10).joined(separator: ", "))\(unknown.count > 10 ? ", …" : ""); it computes \(served.joined(separator: ", "))")
        }
        return index
    }

    /// The model's input from a full served vector, through ``featureIndex(into:)``.
    public func input(from vector: [Double], index: [Int]) -> [Double] {
        index.map { vector[$0] }
    }
}

extension ImportedTrees {
    /// Gives the model's features other names (`--features`), one per feature in the model's order.
    public mutating func rename(_ names: [String]) throws(FraudError) {
        guard names.count == featureNames.count else {
            throw FraudError(.invalidData, "--features names \(names.count) features; the model reads \(featureNames.count)")
        }
        featureNames = names
    }
}
