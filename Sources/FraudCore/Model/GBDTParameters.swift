/// Settings of gradient-boosted trees training; the defaults follow scikit-learn's
/// `HistGradientBoostingClassifier` (except `trees` and `maxDepth`, and there is no early stopping).
public struct GBDTParameters: Sendable, Codable, Equatable {
    /// Boosting iterations: one tree each.
    public var trees: Int
    /// Deepest allowed leaf, counted in edges from the root (the root has depth 0).
    public var maxDepth: Int
    /// Leaves per tree; trees grow best-first (split the leaf with the largest gain next), at least 2.
    public var maxLeaves: Int
    /// Shrinkage applied to every leaf value.
    public var learningRate: Double
    /// Histogram bins per feature, 2...255.
    public var maxBins: Int
    /// Fewest training rows a leaf may hold.
    public var minSamplesLeaf: Int
    /// L2 penalty on leaf values (the λ in G²/(H+λ)).
    public var l2Regularization: Double
    /// Smallest hessian sum a child may have (scikit-learn's `min_hessian_to_split`); keeps leaf values bounded.
    public var minChildHessian: Double
    /// Fraction of rows drawn (without replacement, seeded) for each tree, in (0, 1].
    public var rowSubsample: Double
    /// Seed of every random choice (row subsampling, binning subsample on more than 200,000 rows).
    public var seed: UInt64

    /// Creates parameters; every argument has the default shown.
    public init(
        trees: Int = 200, maxDepth: Int = 8, maxLeaves: Int = 31, learningRate: Double = 0.1, maxBins: Int = 255,
        minSamplesLeaf: Int = 20, l2Regularization: Double = 0, minChildHessian: Double = 1e-3,
        rowSubsample: Double = 1.0, seed: UInt64 = 42
    ) {
        self.trees = trees
        self.maxDepth = maxDepth
        self.maxLeaves = maxLeaves
        self.learningRate = learningRate
        self.maxBins = maxBins
        self.minSamplesLeaf = minSamplesLeaf
        self.l2Regularization = l2Regularization
        self.minChildHessian = minChildHessian
        self.rowSubsample = rowSubsample
        self.seed = seed
    }

    /// Decodes parameters; missing keys take their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = GBDTParameters()
        trees = try container.decodeIfPresent(Int.self, forKey: .trees) ?? defaults.trees
        maxDepth = try container.decodeIfPresent(Int.self, forKey: .maxDepth) ?? defaults.maxDepth
        maxLeaves = try container.decodeIfPresent(Int.self, forKey: .maxLeaves) ?? defaults.maxLeaves
        learningRate = try container.decodeIfPresent(Double.self, forKey: .learningRate) ?? defaults.learningRate
        maxBins = try container.decodeIfPresent(Int.self, forKey: .maxBins) ?? defaults.maxBins
        minSamplesLeaf = try container.decodeIfPresent(Int.self, forKey: .minSamplesLeaf) ?? defaults.minSamplesLeaf
        l2Regularization = try container.decodeIfPresent(Double.self, forKey: .l2Regularization) ?? defaults.l2Regularization
        minChildHessian = try container.decodeIfPresent(Double.self, forKey: .minChildHessian) ?? defaults.minChildHessian
        rowSubsample = try container.decodeIfPresent(Double.self, forKey: .rowSubsample) ?? defaults.rowSubsample
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? defaults.seed
    }

    /// Checks every setting is in range.
    public func validate() throws(FraudError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(FraudError) {
            if !condition { throw FraudError(.invalidModel, "GBDT parameters: " + message()) }
        }
        try require(trees >= 0, "trees must be >= 0, got \(trees)")
        try require(maxDepth >= 1, "maxDepth must be >= 1, got \(maxDepth)")
        try require(maxLeaves >= 2, "maxLeaves must be >= 2, got \(maxLeaves)")
        try require(learningRate > 0 && learningRate.isFinite, "learningRate must be > 0, got \(learningRate)")
        try require((2...255).contains(maxBins), "maxBins must be in 2...255, got \(maxBins)")
        try require(minSamplesLeaf >= 1, "minSamplesLeaf must be >= 1, got \(minSamplesLeaf)")
        try require(l2Regularization >= 0 && l2Regularization.isFinite, "l2Regularization must be >= 0, got \(l2Regularization)")
        try require(minChildHessian >= 0 && minChildHessian.isFinite, "minChildHessian must be >= 0, got \(minChildHessian)")
        try require(rowSubsample > 0 && rowSubsample <= 1, "rowSubsample must be in (0, 1], got \(rowSubsample)")
    }
}
