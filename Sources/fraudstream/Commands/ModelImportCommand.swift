import ArgumentParser
import Crypto
import FraudCore
import Foundation
import RedisClient

/// `fraudstream models import FILE --format …`: a tree model trained in Python, stored as data and served like
/// FraudStream's own, after proving on an exported training matrix that it scores as its library does.
struct ModelImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an XGBoost, LightGBM or ONNX (scikit-learn) tree model as a new model version.",
        discussion: """
            Formats: xgboost-json (Booster.save_model("m.json"), binary:logistic or binary:logitraw), lightgbm-text \
            (Booster.save_model("m.txt"), binary), onnx (an ai.onnx.ml TreeEnsembleClassifier or TreeEnsembleRegressor, \
            as skl2onnx and onnxmltools write them). The model's features are found by name among the ones FraudStream \
            computes; ONNX files name none, so give --features. The file is read as data: nothing in it is run, and \
            sizes, depth and node counts are capped.

            With --check ROWS.csv (an export-features matrix) and --expected PRED.csv (transaction_id,probability: your \
            library's predictions for those rows), every row is scored here and the model is stored only when the \
            largest absolute difference is at most 1e-6; the worst rows are printed otherwise. The labels of ROWS.csv \
            give the model's evaluation. Without --check the model is stored with a warning that parity is unverified.

            The new version is promoted unless --no-promote (through approvals when models.promote needs one); \
            `models shadow N` runs it as a challenger instead, `backtest --model N` evaluates it.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions

    @Argument(help: "The model file.") var file: String
    @Option(help: "xgboost-json, lightgbm-text or onnx.") var format: String
    @Option(help: "The model's name, shown by models list (default: the file's name).") var name: String?
    @Option(help: "Score threshold for is_fraud in the evaluation.") var threshold: Double = 0.7
    @Option(help: "The model's feature names in its column order, comma-separated (ONNX files do not carry them).") var features: String?
    @Option(help: "An export-features CSV whose rows are scored for the parity check.") var check: String?
    @Option(help: "Your library's predictions for --check's rows: transaction_id,probability.") var expected: String?
    @Flag(help: "Store the new version without making it the one workers serve.") var noPromote = false

    func validate() throws {
        guard ImportedModel.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(ImportedModel.Format.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if (check == nil) != (expected == nil) { throw ValidationError("--check and --expected go together") }
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be in 0...1") }
    }

    func run() async throws {
        let format = ImportedModel.Format(rawValue: format) ?? .xgboostJSON
        let limits = ImportLimits()
        let data = try Self.read(file, limit: limits.maximumBytes)
        let names = features.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        var trees: ImportedTrees
        switch format {
        case .xgboostJSON: trees = try XGBoostJSON.parse(data, limits: limits)
        case .lightgbmText: trees = try LightGBMText.parse(data, limits: limits)
        case .onnx: trees = try ONNXTrees.parse(data, featureNames: names, limits: limits)
        }
        if let names, format != .onnx { try trees.rename(names) }
        let producer = trees.library == .onnx ? trees.libraryVersion : "\(trees.library.rawValue) \(trees.libraryVersion)"
        let fileName = URL(fileURLWithPath: file).lastPathComponent
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        printLine("model       \(fileName): \(format.rawValue) from \(producer), \(trees.treeCount) trees, \(trees.nodeCount) nodes, "
            + "objective \(trees.objective), reads \(trees.featureNames.count) features")

        var parity: ImportedModel.Parity?
        var metrics = ModelMetrics(
            trainingRows: 0, heldOutRows: 0, heldOutPositives: 0, rocAUC: .nan, prAUC: .nan, precision: .nan, recall: .nan,
            baselineROCAUC: .nan, baselinePRAUC: .nan, recallByScenario: [:], rowsByScenario: [:], trainingSeconds: 0)
        let model: ImportedModel
        var matrixFeatures: [String] = []
        if let check, let expected {
            let rows = try TrainingMatrixCSV.read(String(decoding: try Self.read(check, limit: 4 << 30), as: UTF8.self), named: check)
            let predictions = try ImportParity.readExpected(String(decoding: try Self.read(expected, limit: 4 << 30), as: UTF8.self), named: expected)
            // The rows carry the built-in features and, from export-features with a feature set, the set's.
            var candidate = try ImportedModel(format: format, sourceFile: fileName, sourceSHA256: digest, producer: producer, trees: trees, parity: nil)
                .bound(to: rows.featureSetNames)
            matrixFeatures = rows.featureSetNames
            let report = try ImportParity.check(candidate, rows: rows, expected: predictions)
            guard report.passes else {
                for row in report.worst where abs(row.ours - row.theirs) > ImportParity.tolerance || row.ours.isNaN {
                    printLine(String(format: "  %@  ours %.9f  theirs %.9f  difference %.3e", row.transactionId, row.ours, row.theirs, abs(row.ours - row.theirs)))
                }
                throw FraudError(
                    .invalidData,
                    String(format: "parity check failed: the largest difference over %d rows is %.3e, more than %.0e; nothing stored", report.compared,
                        report.largestDifference, ImportParity.tolerance))
            }
            parity = .init(rows: report.compared, largestDifference: report.largestDifference, rowsFile: URL(fileURLWithPath: check).lastPathComponent,
                expectedFile: URL(fileURLWithPath: expected).lastPathComponent)
            candidate.parity = parity
            model = candidate
            metrics = Self.evaluate(model, rows: rows, threshold: threshold)
            printLine(String(format: "parity      %d rows of %@ scored; largest difference from %@ %.2e (≤ %.0e): verified", report.compared, check,
                expected, report.largestDifference, ImportParity.tolerance))
        } else {
            model = try ImportedModel(format: format, sourceFile: fileName, sourceSHA256: digest, producer: producer, trees: trees, parity: nil)
            printLineToStandardError("warning: parity NOT verified: give --check ROWS.csv --expected PRED.csv to prove the import scores as \(trees.library.rawValue) does")
        }

        let record = ModelRecord.imported(
            model, metrics: metrics, threshold: threshold, name: name ?? fileName, createdMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-models"))
        // A feature outside the built-in ones must be one a feature set defines (the promoted one, or the one --check's
        // matrix was exported with); promotion then needs that set promoted.
        let promotedFeatures = try await FeatureSetStore(namespace: namespace.resolved).promotedNames(on: redis)
        let undefined = model.unboundFeatures.filter { !promotedFeatures.contains($0) && !matrixFeatures.contains($0) }
        guard undefined.isEmpty else {
            _ = try model.bound(to: promotedFeatures)  // throws, naming them
            return
        }
        let store = ModelStore(namespace: namespace.resolved)
        let version = try await store.save(record, promote: false, on: redis)
        try await AuditLog(namespace: namespace.resolved).append(
            .init(
                actor: AuditLog.commandLineActor, action: "models.import", target: "v\(version)",
                change: "\(format.rawValue) \(fileName) sha256 \(digest.prefix(16))…, parity \(parity == nil ? "unverified" : "verified")"),
            key: store.key(version), on: redis)
        printLine("stored      version \(version) as \(store.key(version))")
        if metrics.heldOutRows > 0 {
            printLine(String(format: "evaluation  on the latest 20%% of --check's rows (%d, %d fraud; unseen if the model trained on the rest): ROC AUC %.4f, PR AUC %.4f, precision %.4f and recall %.4f at %.2f",
                metrics.heldOutRows, metrics.heldOutPositives, metrics.rocAUC, metrics.prAUC, metrics.precision, metrics.recall, threshold))
        }
        guard !noPromote else {
            printLine("promote     not promoted: fraudstream models shadow \(version) to compare it, models promote \(version) to serve it")
            return
        }
        let approvals = ApprovalStore(namespace: namespace.resolved)
        if try await approvals.isRequired(.modelsPromote, on: redis) {
            try await ApprovalsCommand.propose(.modelsPromote, target: String(version), approvals: approvals, redis: redis)
            return
        }
        try await store.promote(version, on: redis)
        printLine("promote     version \(version) promoted: running workers and servers switch to it between batches")
    }

    /// A file's bytes, refused in one line when unreadable or larger than `limit`.
    static func read(_ path: String, limit: Int) throws -> Data {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { throw FraudError(.invalidSetting, "cannot read \(path)") }
        guard size <= limit else { throw FraudError(.invalidData, "\(path) has \(size) bytes, more than the \(limit) accepted") }
        guard let data = FileManager.default.contents(atPath: path) else { throw FraudError(.invalidSetting, "cannot read \(path)") }
        return data
    }

    /// The share of --check's rows, the latest by event time, the evaluation is computed on: the rows a model trained
    /// on the rest (as Fixtures/python/train_model.py does) has not seen, and the ones `backtest` decides by default.
    static let evaluatedFraction = 0.2

    /// The model's ROC AUC, PR AUC, precision and recall on the latest ``evaluatedFraction`` of the labelled rows.
    static func evaluate(_ model: ImportedModel, rows: TrainingHistory, threshold: Double) -> ModelMetrics {
        let order = rows.transactions.indices.sorted { rows.transactions[$0].timestampMilliseconds < rows.transactions[$1].timestampMilliseconds }
        let held = order.suffix(max(1, Int((Double(order.count) * evaluatedFraction).rounded())))
        let scores = held.map { model.probability(rows.rows[$0]) }
        let labels = held.map { UInt8(rows.transactions[$0].isFraud == true ? 1 : 0) }
        let confusion = ModelEvaluation.confusion(scores: scores, labels: labels, threshold: threshold)
        let positives = labels.reduce(0) { $0 + Int($1) }
        let ranked = positives > 0 && positives < labels.count
        return ModelMetrics(
            trainingRows: 0, heldOutRows: held.count, heldOutPositives: positives,
            rocAUC: ranked ? ModelEvaluation.rocAUC(scores: scores, labels: labels) : .nan,
            prAUC: ranked ? ModelEvaluation.prAUC(scores: scores, labels: labels) : .nan, precision: confusion.precision, recall: confusion.recall,
            baselineROCAUC: .nan, baselinePRAUC: .nan, recallByScenario: [:], rowsByScenario: [:], trainingSeconds: 0)
    }
}
