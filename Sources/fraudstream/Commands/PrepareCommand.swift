import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream prepare`: profiles, warmed feature state and a trained model version in Redis.
struct PrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Generate (or read) the synthetic world, load it, replay history into feature state, train and store a model.",
        discussion: """
            Loads the Redis Functions library, writes user profiles and the IP blocklist (a counting Bloom filter), \
            deletes and rebuilds the dynamic feature state by replaying the history in event-time order \
            through the serving feature code, trains gradient-boosted trees and a logistic baseline on the \
            first 80% of event time, evaluates on the rest, and stores the result as a new model version \
            (promoted to latest unless --no-promote). Nothing else in the namespace is deleted.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var world: WorldOptions
    @OptionGroup var training: TrainingOptions

    @Flag(help: "Store the new model version without making it the one workers serve.")
    var noPromote = false

    @Option(help: "Also write the training matrix as CSV to this path.")
    var exportCSV: String?

    @Flag(help: "Train on the analysts' labelled reviews (review resolve, labels import) too, alongside the synthetic history.")
    var retrain = false

    @Option(help: "With --retrain: partitions of the streams whose review queues are read [PARTITIONS].")
    var partitions: Int?

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let resolver = SettingsResolver.command(connection.flags, namespace.flags, training.flags)
        let settings = try FeatureSettings.resolve(resolver)
        let namespace = settings.namespace
        let threshold = try resolver.decimal(Settings.threshold, in: 0...1) ?? 0.7
        let redis = try await RedisConnection.connect(try connection.configuration(resolver, name: "fraudstream-prepare"))
        let store = FeatureStore(namespace: namespace)

        let synthetic = try world.load()
        printLine("world       \(world.describe(synthetic)): \(synthetic.profiles.count) users, \(synthetic.merchants.count) merchants, "
            + "\(synthetic.history.count) transactions, \(synthetic.history.filter { $0.isFraud == true }.count) fraud "
            + "(\(elapsedText(clock.now - started)))")

        let shape = try await store.install(
            synthetic, blocklistCapacity: training.blocklistCapacity, falsePositiveRate: training.blocklistFalsePositiveRate, on: redis)
        try await PreparedWorld(users: synthetic.configuration.users, seed: synthetic.configuration.seed).save(namespace: namespace, on: redis)
        let removed = try await Keyspace(namespace: namespace).deleteFeatureState(on: redis)
        printLine("load        functions library '\(FunctionLibrary.features.name)', \(synthetic.profiles.count) profiles, "
            + "\(synthetic.blocklistedIPs.count) blocklisted IPs (counting Bloom filter: \(shape.counters) 4-bit counters, "
            + "\((shape.byteCount + 500) / 1_000) KB, \(shape.hashes) hashes), "
            + "cleared \(removed) feature-state keys (\(elapsedText(clock.now - started)))")

        let replayStart = clock.now
        let extractor = FeatureExtractor(settings: settings, blocklistShape: shape)
        let rows = try await store.replay(
            synthetic.history, extractor: extractor, batchSize: 1_000, on: redis,
            progress: ReplayProgress.printer(total: synthetic.history.count))
        let replaySeconds = (clock.now - replayStart).seconds
        printLine("replay      \(rows.count) transactions through the serving feature path in event-time order: "
            + "\(Int(Double(rows.count) / max(replaySeconds, 1e-9))) per second (\(elapsedText(clock.now - started)))")

        if let exportCSV {
            try TrainingMatrixCSV.write(rows: rows, history: synthetic.history, to: URL(fileURLWithPath: exportCSV))
            printLine("export      \(exportCSV)")
        }

        var history = synthetic.history
        var trainingRows = rows
        if retrain {
            // Labelled reviews are training data, never held out: dated at the start of the history, they fall in
            // the training part of the time split, and the held-out evaluation stays the synthetic one.
            let streams = await SettingsResolver.command(connection.flags, self.namespace.flags, [Settings.partitions: partitions.map(String.init)])
                .streams(on: redis)
            let labelled = try await ReviewQueue(streams: streams).labelledRows(on: redis)
            let start = synthetic.history.first?.timestampMilliseconds ?? 0
            for row in labelled {
                history.insert(
                    Transaction(
                        transactionId: row.transactionId, userId: "review", amount: max(row.features[Feature.amount], 0.01), merchantId: "review",
                        timestampMilliseconds: start, isFraud: row.fraud, scenario: row.fraud ? "analyst_fraud" : nil),
                    at: 0)
                trainingRows.insert(row.features, at: 0)
            }
            printLine("retrain     \(labelled.count) labelled reviews (\(labelled.filter(\.fraud).count) fraud) join the training rows")
        }
        let record = ModelTraining.train(
            history: history, rows: trainingRows, parameters: training.parameters, threshold: threshold,
            trainingData: world.describe(synthetic), now: Int64(Date().timeIntervalSince1970 * 1000))
        let models = ModelStore(namespace: namespace)
        let version = try await models.save(record, promote: !noPromote, on: redis)
        printLine("train       \(training.parameters.trees) trees in \(String(format: "%.1f", record.metrics.trainingSeconds)) s "
            + "(\(elapsedText(clock.now - started)))")
        printLine("")
        printLine(ModelReport.evaluationTable(record))
        printLine("")
        printLine("model       version \(version) stored as \(models.key(version))" + (noPromote ? " (not promoted)" : ", promoted to latest"))
        printLine("done in \(elapsedText(clock.now - started))")
    }
}

extension FeatureSettings {
    /// A copy with another namespace.
    func with(namespace: String) -> FeatureSettings {
        var copy = self
        copy.namespace = namespace
        return copy
    }
}

/// "12.3 s".
func elapsedText(_ duration: Duration) -> String {
    String(format: "%.1f s", duration.seconds)
}
