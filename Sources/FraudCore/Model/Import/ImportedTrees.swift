import Foundation

/// A binary-classification tree ensemble trained by another library, held as data with that library's arithmetic:
/// the first step of bringing your own model (issue 24; not served yet).
///
/// Nodes are flat arrays; a tree walks from its root: a missing value (NaN) goes to the node's default side, any
/// other value is rounded to `Float` and goes left when it is below the threshold (XGBoost's `fvalue < split`).
/// Leaf values are summed in `Float` in tree order onto the base margin, as XGBoost's CPU predictor does, and the
/// probability is the logistic of the margin unless the objective asked for the raw margin.
public struct ImportedTrees: Sendable, Equatable {
    /// The library the model came from.
    public enum Library: String, Sendable, Equatable { case xgboost, lightgbm, onnx }

    /// Where the model came from.
    public var library: Library
    /// The library's version as the file records it (`2.1.0`), or empty.
    public var libraryVersion: String
    /// The features the model reads, in its own order.
    public var featureNames: [String]
    /// The objective as the library names it (`binary:logistic`).
    public var objective: String
    /// Whether the probability is the logistic of the margin (`false`: the margin itself, `binary:logitraw`).
    public var appliesLogistic: Bool
    /// The margin every row starts from.
    public var baseMargin: Float
    /// Each tree's root node.
    public var roots: [Int32]
    /// Per node: the feature index it splits on, or −1 for a leaf.
    public var feature: [Int32]
    /// Per node: the split threshold (inner nodes).
    public var threshold: [Float]
    /// Per node: the left and right children (inner nodes).
    public var left: [Int32]
    public var right: [Int32]
    /// Per node: whether a missing value goes left.
    public var defaultLeft: [Bool]
    /// Per node: the leaf value (leaves).
    public var value: [Float]

    /// The margin of one row given in the model's feature order (NaN for a missing value).
    public func margin(_ row: [Double]) -> Float {
        var sum = baseMargin
        for root in roots {
            var node = Int(root)
            while feature[node] >= 0 {
                let x = row[Int(feature[node])]
                let goesLeft = x.isNaN ? defaultLeft[node] : Float(x) < threshold[node]
                node = Int(goesLeft ? left[node] : right[node])
            }
            sum += value[node]
        }
        return sum
    }

    /// The probability of fraud for one row in the model's feature order.
    public func probability(_ row: [Double]) -> Double {
        let margin = margin(row)
        guard appliesLogistic else { return Double(margin) }
        return Double(1 / (1 + Float.exp(-margin)))
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
