import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream train`: a new model version from history, with live state untouched.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train and store a model from history without touching live feature state, the blocklist, rules or labels.",
        discussion: """
            History is the world's (the world flags of prepare), replayed through the serving feature code in a scratch \
            namespace (<namespace>:train:<pid>, deleted afterwards) as export-features does, or the training matrix an \
            export-features run wrote (--from-csv FILE); plus the analysts' labelled reviews (review resolve, labels \
            import) unless --no-labels. Trees and the logistic baseline are trained on the first 80% of event time and \
            evaluated on the rest, and the result is stored as a new model version, promoted to latest unless \
            --no-promote. Nothing else in the namespace is written.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var world: WorldOptions
    @OptionGroup var pseudonyms: PseudonymOptions
    @OptionGroup var training: TrainingOptions

    @Option(name: .customLong("from-csv"), help: "Train on this training matrix (written by export-features) instead of replaying the world.")
    var fromCSV: String?

    @Flag(help: "Leave the analysts' labelled reviews out.")
    var noLabels = false

    @Option(help: "Partitions of the streams whose review queues are read [PARTITIONS].")
    var partitions: Int?

    @Flag(help: "Store the new model version without making it the one workers serve.")
    var noPromote = false

    func validate() throws {
        if fromCSV != nil && world.world != nil { throw ValidationError("--from-csv and --world each name the history: give one") }
    }

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let resolver = SettingsResolver.command(connection.flags, namespace.flags, training.flags)
        let settings = try FeatureSettings.resolve(resolver)
        let threshold = try resolver.decimal(Settings.threshold, in: 0...1) ?? 0.7
        let redis = try await RedisConnection.connect(try connection.configuration(resolver, name: "fraudstream-train"))

        var history: TrainingHistory
        let trainingData: String
        if let fromCSV {
            guard let data = FileManager.default.contents(atPath: fromCSV) else { throw FraudError(.invalidSetting, "cannot read \(fromCSV)") }
            // FraudStream's trainer reads the built-in features; a feature set's columns are for imported models.
            history = try TrainingMatrixCSV.read(String(decoding: data, as: UTF8.self), named: fromCSV).builtInOnly
            trainingData = "training matrix \(fromCSV)"
            printLine("history     \(fromCSV): \(history.rows.count) rows, \(history.fraudCount) fraud (\(elapsedText(clock.now - started)))")
        } else {
            let synthetic = try pseudonyms.resolved().map { $0.apply(try world.load()) } ?? world.load()
            trainingData = world.describe(synthetic)
            printLine("world       \(trainingData): \(synthetic.profiles.count) users, \(synthetic.merchants.count) merchants, "
                + "\(synthetic.history.count) transactions, \(synthetic.history.filter { $0.isFraud == true }.count) fraud "
                + "(\(elapsedText(clock.now - started)))")
            try await world.warnIfUnlikePrepared(
                synthetic, namespace: settings.namespace, doing: "training on", purpose: "train on the world the live state was built from",
                on: redis)
            let scratch = ScratchReplay(namespace: "\(settings.namespace):train:\(getpid())")
            let replayStart = clock.now
            let rows = try await scratch.rows(
                of: synthetic, settings: settings, blocklistCapacity: training.blocklistCapacity,
                falsePositiveRate: training.blocklistFalsePositiveRate, on: redis,
                progress: ReplayProgress.printer(total: synthetic.history.count))
            let replaySeconds = (clock.now - replayStart).seconds
            printLine("replay      \(rows.count) transactions through the serving feature path in scratch namespace \(scratch.namespace) "
                + "(deleted): \(Int(Double(rows.count) / max(replaySeconds, 1e-9))) per second (\(elapsedText(clock.now - started)))")
            history = TrainingHistory(transactions: synthetic.history, rows: rows)
        }

        if !noLabels {
            // Named as the worker names them on this Redis (a cluster's streams carry their partition tag).
            let streams = await SettingsResolver.command(connection.flags, namespace.flags, [Settings.partitions: partitions.map(String.init)])
                .streams(on: redis)
            try await ModelTrainingSteps.addLabelledReviews(to: &history, streams: streams, title: "labels", on: redis)
        }
        _ = try await ModelTrainingSteps.trainAndStore(
            history, options: training, threshold: threshold, trainingData: trainingData, promote: !noPromote,
            namespace: settings.namespace, started: started, on: redis)
    }
}
