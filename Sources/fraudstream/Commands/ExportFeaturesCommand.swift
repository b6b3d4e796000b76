import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream export-features --out rows.csv`: the training matrix, computed in a scratch namespace.
struct ExportFeaturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-features",
        abstract: "Write the training matrix (features before each transaction, label, scenario) as CSV.",
        discussion: """
            Replays the world's history through the serving feature code in a scratch namespace \
            (<namespace>:export:<pid>), writes the CSV, and deletes the scratch keys; serving state is untouched. \
            Columns: transaction_id, timestamp, the built-in features in model order, the promoted feature set's \
            features (or --feature-set N's), is_fraud, fraud_scenario.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var world: WorldOptions
    @OptionGroup var pseudonyms: PseudonymOptions

    @Option(help: "Output CSV path.")
    var out: String

    @Option(help: "Feature set version whose features follow the built-in ones (0: none; default: the promoted one).")
    var featureSet: Int?

    @Option(help: "Capacity of the IP blocklist's counting Bloom filter.")
    var blocklistCapacity: Int = FeatureStore.defaultBlocklistCapacity

    @Option(help: "False-positive rate of the IP blocklist's counting Bloom filter at capacity.")
    var blocklistFalsePositiveRate: Double = FeatureStore.defaultBlocklistFalsePositiveRate

    func run() async throws {
        let resolver = SettingsResolver.command(connection.flags, namespace.flags)
        let redis = try await RedisConnection.connect(try connection.configuration(resolver, name: "fraudstream-export"))
        let synthetic = try pseudonyms.resolved().map { $0.apply(try world.load()) } ?? world.load()
        let base = StreamNames.namespace(resolving: resolver)
        let features = try await FeatureSetStore(namespace: base).load(featureSet, on: redis)
        let rows = try await ScratchReplay(namespace: "\(base):export:\(getpid())").rows(
            of: synthetic, settings: try FeatureSettings.resolve(resolver), features: features.set, blocklistCapacity: blocklistCapacity,
            falsePositiveRate: blocklistFalsePositiveRate, on: redis, progress: ReplayProgress.printer(total: synthetic.history.count))
        let names = FeatureSchema.names + features.set.names
        try TrainingMatrixCSV.write(rows: rows, history: synthetic.history, names: names, to: URL(fileURLWithPath: out))
        printLine("wrote \(rows.count) rows × \(names.count) features to \(out)"
            + (features.version == 0 ? "" : " (\(FeatureSchema.count) built-in, \(features.set.names.count) of feature set v\(features.version))"))
    }
}
