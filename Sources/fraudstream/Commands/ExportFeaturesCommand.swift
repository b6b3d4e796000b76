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
            Columns: transaction_id, timestamp, the features in model order, is_fraud, fraud_scenario.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var world: WorldOptions
    @OptionGroup var pseudonyms: PseudonymOptions

    @Option(help: "Output CSV path.")
    var out: String

    @Option(help: "Capacity of the IP blocklist's counting Bloom filter.")
    var blocklistCapacity: Int = FeatureStore.defaultBlocklistCapacity

    @Option(help: "False-positive rate of the IP blocklist's counting Bloom filter at capacity.")
    var blocklistFalsePositiveRate: Double = FeatureStore.defaultBlocklistFalsePositiveRate

    func run() async throws {
        let resolver = SettingsResolver.command(connection.flags, namespace.flags)
        let redis = try await RedisConnection.connect(try connection.configuration(resolver, name: "fraudstream-export"))
        let synthetic = try pseudonyms.resolved().map { $0.apply(try world.load()) } ?? world.load()
        let rows = try await ScratchReplay(namespace: "\(StreamNames.namespace(resolving: resolver)):export:\(getpid())").rows(
            of: synthetic, settings: try FeatureSettings.resolve(resolver), blocklistCapacity: blocklistCapacity,
            falsePositiveRate: blocklistFalsePositiveRate, on: redis, progress: ReplayProgress.printer(total: synthetic.history.count))
        try TrainingMatrixCSV.write(rows: rows, history: synthetic.history, to: URL(fileURLWithPath: out))
        printLine("wrote \(rows.count) rows × \(FeatureSchema.count) features to \(out)")
    }
}
