import Foundation

/// A model trained by another library and imported with `fraudstream models import`, as a ``ModelRecord`` stores it:
/// the trees as data, where they came from, and whether the import proved they score as the library does.
///
/// The model reads its own features in its own order; ``inputIndex`` maps them onto the vector FraudStream computes,
/// once when the record is made or read, so a transaction's input is gathered without a lookup.
public struct ImportedModel: Sendable, Equatable, Codable {
    /// The file formats `models import` reads.
    public enum Format: String, Sendable, Codable, CaseIterable {
        /// `Booster.save_model("m.json")` of XGBoost 2.x/3.x.
        case xgboostJSON = "xgboost-json"
        /// `Booster.save_model("m.txt")` of LightGBM 4.x.
        case lightgbmText = "lightgbm-text"
        /// An `ai.onnx.ml` tree-ensemble graph (skl2onnx, onnxmltools).
        case onnx
    }

    /// What `--check` found when the model was imported.
    public struct Parity: Sendable, Equatable, Codable {
        /// Rows of the training matrix scored and compared.
        public var rows: Int
        /// The largest absolute difference from the library's probabilities.
        public var largestDifference: Double
        /// The matrix and the predictions file, as named on the command line.
        public var rowsFile: String
        public var expectedFile: String

        public init(rows: Int, largestDifference: Double, rowsFile: String, expectedFile: String) {
            self.rows = rows
            self.largestDifference = largestDifference
            self.rowsFile = rowsFile
            self.expectedFile = expectedFile
        }
    }

    /// The file's format.
    public var format: Format
    /// The file's name (no directory) and the SHA-256 of its bytes.
    public var sourceFile: String
    public var sourceSHA256: String
    /// What produced the file (`skl2onnx 1.17.0`), when the file says; else the library.
    public var producer: String
    /// The trees.
    public var trees: ImportedTrees
    /// The parity proof, or nil when the model was imported without `--check`.
    public var parity: Parity?

    /// Where each of the model's features is in the served vector: ``FeatureSchema/names``, then the feature set's
    /// ``boundFeatures``; -1 for a feature the vector does not carry (read as missing, and refused at promotion).
    public private(set) var inputIndex: [Int] = []
    /// The feature set's names the model is bound to (``bound(to:)``); empty for the built-in features alone.
    public private(set) var boundFeatures: [String] = []
    /// The model's features the served vector does not carry.
    public private(set) var unboundFeatures: [String] = []
    /// The largest index of ``inputIndex`` (the packed walk needs a vector this long).
    private var largestIndex = -1
    /// Per node, the mean of its leaves (for ``contributions(_:)``).
    private var means: [Double] = []
    /// The fast walk; nil when the model needs the checked one for every row.
    private var packed: PackedImportedForest?
    /// Whether rows without missing values take the packed walk.
    var isPacked: Bool { packed != nil }

    /// Wraps `trees`, mapping its features by name; throws when it reads a feature FraudStream does not compute or
    /// its trees are inconsistent.
    public init(
        format: Format, sourceFile: String, sourceSHA256: String, producer: String, trees: ImportedTrees, parity: Parity?
    ) throws(FraudError) {
        self.format = format
        self.sourceFile = sourceFile
        self.sourceSHA256 = sourceSHA256
        self.producer = producer
        self.trees = trees
        self.parity = parity
        try prepare()
    }

    private enum CodingKeys: String, CodingKey { case format, sourceFile, sourceSHA256, producer, trees, parity }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        format = try container.decode(Format.self, forKey: .format)
        sourceFile = try container.decode(String.self, forKey: .sourceFile)
        sourceSHA256 = try container.decode(String.self, forKey: .sourceSHA256)
        producer = try container.decode(String.self, forKey: .producer)
        trees = try container.decode(ImportedTrees.self, forKey: .trees)
        parity = try container.decodeIfPresent(Parity.self, forKey: .parity)
        do {
            try prepare()
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format, forKey: .format)
        try container.encode(sourceFile, forKey: .sourceFile)
        try container.encode(sourceSHA256, forKey: .sourceSHA256)
        try container.encode(producer, forKey: .producer)
        try container.encode(trees, forKey: .trees)
        try container.encodeIfPresent(parity, forKey: .parity)
    }

    private mutating func prepare() throws(FraudError) {
        try trees.validate()
        bind(to: boundFeatures)
        means = trees.nodeMeans()
        packed = PackedImportedForest(validated: trees)
    }

    /// Maps the model's features onto the built-in ones and `features` (a feature set's names, in vector order).
    private mutating func bind(to features: [String]) {
        var position: [String: Int] = [:]
        for (index, name) in (FeatureSchema.names + features).enumerated() { position[name] = index }
        boundFeatures = features
        inputIndex = trees.featureNames.map { position[$0] ?? -1 }
        unboundFeatures = zip(trees.featureNames, inputIndex).filter { $0.1 < 0 }.map(\.0)
        largestIndex = inputIndex.max() ?? -1
    }

    /// The model reading vectors that carry `features` (a feature set's names) after the built-in ones; throws when it
    /// reads a feature neither defines.
    public func bound(to features: [String]) throws(FraudError) -> ImportedModel {
        var copy = self
        copy.bind(to: features)
        guard copy.unboundFeatures.isEmpty else {
            throw FraudError(
                .invalidData,
                "the model reads \(copy.unboundFeatures.count == 1 ? "a feature" : "features") FraudStream does not compute: "
                    + "\(copy.unboundFeatures.prefix(10).joined(separator: ", "))\(copy.unboundFeatures.count > 10 ? ", …" : ""); "
                    + "define \(copy.unboundFeatures.count == 1 ? "it" : "them") in a feature set (fraudstream features add) or name the built-in ones "
                    + "(\(FeatureSchema.names.joined(separator: ", ")))")
        }
        return copy
    }

    /// Equal when the stored parts are (the derived ones follow from them).
    public static func == (lhs: ImportedModel, rhs: ImportedModel) -> Bool {
        lhs.format == rhs.format && lhs.sourceFile == rhs.sourceFile && lhs.sourceSHA256 == rhs.sourceSHA256 && lhs.producer == rhs.producer
            && lhs.trees == rhs.trees && lhs.parity == rhs.parity
    }

    /// The model's input: its features gathered from a full served vector.
    public func input(_ vector: [Double]) -> [Double] {
        inputIndex.map { vector.indices.contains($0) ? vector[$0] : .nan }
    }

    /// The probability of fraud for a full served vector (``FeatureSchema/names`` order): the model's input gathered
    /// by ``inputIndex`` into a stack buffer (rounded to `Float` for a single-precision model), walked by the packed
    /// layout, or by the checked walk for a row with a missing or infinite value.
    public func probability(_ vector: [Double]) -> Double {
        guard let packed, unboundFeatures.isEmpty, largestIndex < vector.count else { return trees.probability(input(vector)) }
        let margin = inputIndex.withUnsafeBufferPointer { index in
            vector.withUnsafeBufferPointer { vector in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: max(index.count, 1)) { row in
                    if trees.arithmetic.isFloat32 {
                        for (position, at) in index.enumerated() { row[position] = Double(Float(vector[at])) }
                    } else {
                        for (position, at) in index.enumerated() { row[position] = vector[at] }
                    }
                    return packed.margin(UnsafeMutableBufferPointer(rebasing: row[..<index.count]))
                }
            }
        }
        guard let margin else { return trees.probability(input(vector)) }
        return trees.transform(margin)
    }

    /// The margin split into a base and one share per served feature (zero for the features the model does not read).
    public func contributions(_ vector: [Double]) -> (base: Double, features: [Double]) {
        let split = trees.contributions(input(vector), means: means)
        var shares = [Double](repeating: 0, count: max(FeatureSchema.count, vector.count))
        for (position, share) in zip(inputIndex, split.features) where shares.indices.contains(position) { shares[position] += share }
        return (split.base, shares)
    }

    /// `verified (10000 rows, largest difference 3.0e-08)` or `NOT VERIFIED`.
    public var parityDescription: String {
        guard let parity else { return "NOT VERIFIED: imported without --check" }
        return String(format: "verified on %d rows of %@, largest difference %.1e (≤ %.0e)", parity.rows, parity.rowsFile, parity.largestDifference, ImportParity.tolerance)
    }
}

extension ModelRecord {
    /// The probability of fraud for a full served vector, by the model's own trees or the imported ones. Trees that
    /// read a subset of the served features, or another order, get their row gathered by ``TreeEnsemble/servedIndex``.
    public func probability(_ vector: [Double]) -> Double {
        if let imported { return imported.probability(vector) }
        guard let index = ensemble.servedIndex, vector.count >= FeatureSchema.count else { return ensemble.probability(vector) }
        return index.withUnsafeBufferPointer { index in
            vector.withUnsafeBufferPointer { vector in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: max(index.count, 1)) { row in
                    for (position, at) in index.enumerated() { row[position] = vector[at] }
                    return ensemble.probability(UnsafeBufferPointer(rebasing: row[..<index.count]))
                }
            }
        }
    }

    /// The margin split into a base and one share per served feature (zero for features the model does not read).
    public func contributions(_ vector: [Double]) -> (base: Double, features: [Double]) {
        if let imported { return imported.contributions(vector) }
        guard let index = ensemble.servedIndex, vector.count >= FeatureSchema.count else { return ensemble.contributions(vector) }
        let split = ensemble.contributions(index.map { vector[$0] })
        var shares = [Double](repeating: 0, count: FeatureSchema.count)
        for (position, share) in zip(index, split.features) { shares[position] += share }
        return (split.base, shares)
    }

    /// Number of trees served.
    public var treeCount: Int { imported?.trees.treeCount ?? ensemble.treeCount }

    /// The record reading vectors that carry `features` (a feature set's names) after the built-in ones; throws
    /// (`invalidData`) when the model reads a feature neither defines. FraudStream's own models read built-in features.
    public func bound(to features: [String]) throws(FraudError) -> ModelRecord {
        guard let imported else { return self }
        var copy = self
        copy.imported = try imported.bound(to: features)
        return copy
    }

    /// A record for an imported model: no hyper-parameters of FraudStream's trainer, metrics from the parity rows when
    /// they carry labels.
    public static func imported(
        _ model: ImportedModel, metrics: ModelMetrics, threshold: Double, name: String, createdMilliseconds: Int64
    ) -> ModelRecord {
        var parameters = GBDTParameters()
        parameters.trees = model.trees.treeCount
        var record = ModelRecord(
            createdMilliseconds: createdMilliseconds, kind: model.format.rawValue, featureNames: model.trees.featureNames,
            parameters: parameters, metrics: metrics, threshold: threshold,
            ensemble: TreeEnsemble(
                featureNames: [], featureCount: 0, baseMargin: 0, treeRoots: [], nodeFeature: [], nodeThreshold: [], nodeLeft: [],
                nodeRight: [], nodeValue: []),
            baseline: nil, trainingData: name)
        record.imported = model
        return record
    }
}
