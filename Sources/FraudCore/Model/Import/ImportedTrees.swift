import Foundation

/// A binary-classification tree ensemble trained by another library, held as data with that library's arithmetic:
/// the first step of bringing your own model (issue 24; not served yet).
///
/// Nodes are flat arrays; a tree walks from its root to a leaf, and the leaves are summed onto the base margin in
/// tree order. How a node compares and sums is the library's (``Arithmetic``): XGBoost rounds the input to `Float`,
/// goes left when it is below the threshold and sums in `Float`; LightGBM compares the `Double` input with `<=` and
/// sums in `Double`. A missing value (NaN) goes the way the node's ``Missing`` says.
public struct ImportedTrees: Sendable, Equatable {
    /// The library the model came from.
    public enum Library: String, Sendable, Equatable { case xgboost, lightgbm, onnx }

    /// How nodes compare and leaves add up.
    public enum Arithmetic: Sendable, Equatable {
        /// `Float(x) < threshold`, leaves summed in `Float` (XGBoost's CPU predictor).
        case float32Below
        /// `x <= threshold` in `Double`, leaves summed in `Double` (LightGBM's `NumericalDecision`).
        case doubleAtMost
    }

    /// What a node does with a missing value.
    public enum Missing: UInt8, Sendable, Equatable {
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
    /// How nodes compare and leaves add up.
    public var arithmetic: Arithmetic
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
    /// than ``featureNames``.
    public func margin(_ row: [Double]) -> Double {
        guard row.count >= featureNames.count else { return .nan }
        return row.withUnsafeBufferPointer { x in
            feature.withUnsafeBufferPointer { feature in
                threshold.withUnsafeBufferPointer { threshold in
                    left.withUnsafeBufferPointer { left in
                        right.withUnsafeBufferPointer { right in
                            missing.withUnsafeBufferPointer { missing in
                                defaultLeft.withUnsafeBufferPointer { defaultLeft in
                                    // One loop per arithmetic, so no node pays for choosing it.
                                    func leaf(_ root: Int32, _ below: (Double, Int) -> Bool) -> Int {
                                        var node = Int(root)
                                        while feature[node] >= 0 {
                                            let value = x[Int(feature[node])]
                                            let goesLeft: Bool
                                            switch missing[node] {
                                            case .nan where value.isNaN, .zero where value.isNaN || abs(value) <= 1e-35:
                                                goesLeft = defaultLeft[node]
                                            default:
                                                goesLeft = below(value, node)
                                            }
                                            node = Int(goesLeft ? left[node] : right[node])
                                        }
                                        return node
                                    }
                                    switch arithmetic {
                                    case .float32Below:
                                        var sum = Float(baseMargin)
                                        for root in roots {
                                            sum += Float(value[leaf(root) { Float($0) < Float(threshold[$1]) }])
                                        }
                                        return Double(sum)
                                    case .doubleAtMost:
                                        var sum = baseMargin
                                        for root in roots {
                                            sum += value[leaf(root) { ($0.isNaN ? 0 : $0) <= threshold[$1] }]
                                        }
                                        return sum
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The probability of fraud for one row in the model's feature order.
    public func probability(_ row: [Double]) -> Double {
        let margin = margin(row)
        guard appliesLogistic else { return margin }
        switch arithmetic {
        case .float32Below: return Double(1 / (1 + Float.exp(-Float(margin))))
        case .doubleAtMost: return 1 / (1 + Foundation.exp(-logisticSlope * margin))
        }
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
