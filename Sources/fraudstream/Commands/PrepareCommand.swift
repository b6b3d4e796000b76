import ArgumentParser
import FraudArchive
import FraudCore
import Foundation
import Logging
import RedisClient

/// `fraudstream prepare`: the demo's "build a world": profiles, warmed feature state and a trained model version in
/// Redis. It clears live feature state only in a namespace that has served no traffic, or with `--reset-state`;
/// `fraudstream train` trains without touching it.
struct PrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Generate (or read) the synthetic world, load it, replay history into feature state, train and store a model.",
        discussion: """
            Loads the Redis Functions library, writes user profiles and adds the world's IPs to the IP blocklist (a \
            counting Bloom filter; entries added with `blocklist add` stay), deletes and rebuilds the dynamic feature \
            state by replaying the history in event-time order through the serving feature code, trains \
            gradient-boosted trees and a logistic baseline on the first 80% of event time, evaluates on the rest, and \
            stores the result as a new model version (promoted to latest unless --no-promote). Nothing else in the \
            namespace is deleted. In a namespace that has served traffic (its results streams hold entries, run \
            statistics exist, the scoring API stored decisions, or feature state exists that prepare did not write) it \
            refuses, saying what it would delete, unless --reset-state; to train a new model without touching live \
            state, use `fraudstream train`.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var world: WorldOptions
    @OptionGroup var training: TrainingOptions
    @OptionGroup var pseudonyms: PseudonymOptions

    @Flag(help: "Store the new model version without making it the one workers serve.")
    var noPromote = false

    @Option(help: "Also write the training matrix as CSV to this path.")
    var exportCSV: String?

    @Flag(help: "Train on the analysts' labelled reviews (review resolve, labels import) too, alongside the synthetic history.")
    var retrain = false

    @Option(help: "With --retrain: partitions of the streams whose review queues are read [PARTITIONS].")
    var partitions: Int?

    @Flag(help: "With --retrain: read the labelled reviews from the decision archive in PostgreSQL (POSTGRES_URL), which keeps every one, instead of the review queues in Redis.")
    var fromArchive = false

    @OptionGroup var postgres: ArchiveCommand.PostgresOptions

    @Flag(help: "Delete and rebuild the feature state even though the namespace has served traffic.")
    var resetState = false

    func validate() throws {
        if fromArchive && !retrain { throw ValidationError("--from-archive goes with --retrain (it says where the labelled reviews come from)") }
    }

    func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        // The archive is reachable and migrated before anything in Redis is rebuilt.
        if fromArchive {
            let store = try await ArchiveStore.open(try postgres.resolved(SettingsResolver.command(postgres.flags)), logger: Logger(label: "fraudstream.archive"))
            await store.close()
        }
        let resolver = SettingsResolver.command(connection.flags, namespace.flags, training.flags)
        let settings = try FeatureSettings.resolve(resolver)
        let namespace = settings.namespace
        let threshold = try resolver.decimal(Settings.threshold, in: 0...1) ?? 0.7
        let redis = try await RedisConnection.connect(try connection.configuration(resolver, name: "fraudstream-prepare"))
        let store = FeatureStore(namespace: namespace)

        // Before anything is written: a namespace that has served traffic keeps its live state unless asked.
        let live = try await LiveState.survey(
            namespace: namespace, resultsStreams: await resolver.streams(on: redis).partitions.map(\.results), on: redis)
        if live.hasServedTraffic && !resetState {
            throw FraudError(
                .liveStateProtected,
                "namespace '\(namespace)' has served traffic (\(live.trafficEvidence.joined(separator: ", "))): prepare would delete "
                    + "\(live.deletionSummary); pass --reset-state to delete them, or train without touching them with `fraudstream train`")
        }

        let pseudonymizer = try pseudonyms.resolved()
        // With pseudonymization on, nothing of the world is stored under its raw identifiers.
        let synthetic = try pseudonymizer.map { $0.apply(try world.load()) } ?? world.load()
        printLine("world       \(world.describe(synthetic)): \(synthetic.profiles.count) users, \(synthetic.merchants.count) merchants, "
            + "\(synthetic.history.count) transactions, \(synthetic.history.filter { $0.isFraud == true }.count) fraud "
            + "(\(elapsedText(clock.now - started)))")

        // The world record first: feature state without it counts as state prepare did not write. Then the old
        // state goes, before the world's profiles are written, so the count is of what was there.
        try await PreparedWorld(
            users: synthetic.configuration.users, seed: synthetic.configuration.seed,
            cardCyclingIncidents: synthetic.configuration.cardCyclingIncidents
        ).save(namespace: namespace, on: redis)
        let keyspace = Keyspace(namespace: namespace)
        let cleared = try await keyspace.featureState(on: redis)
        try await keyspace.delete(cleared, on: redis)
        // Recorded once the old state is gone: a crash after it leaves the record of what was deleted.
        try await AuditLog(namespace: namespace).append(
            AuditLog.Entry(
                actor: AuditLog.commandLineActor, action: "prepare.reset", target: namespace,
                change: "world \(world.describe(synthetic)) (\(synthetic.profiles.count) users)\(pseudonymizer == nil ? "" : ", pseudonymized"); "
                    + "deleted \(cleared.dynamicKeys.count + cleared.profiles.count) feature-state keys\(resetState ? " (--reset-state)" : "")"),
            key: FeatureKeys(namespace: namespace).ipBlocklistCounters, on: redis)
        let blocklist = try await store.install(
            synthetic, blocklistCapacity: training.blocklistCapacity, falsePositiveRate: training.blocklistFalsePositiveRate, on: redis)
        let shape = blocklist.shape
        printLine("load        functions library '\(FunctionLibrary.features.name)', \(synthetic.profiles.count) profiles, "
            + "\(blocklist.worldIPs) blocklisted IPs (\(Self.describe(blocklist)); counting Bloom filter: \(shape.counters) 4-bit counters, "
            + "\((shape.byteCount + 500) / 1_000) KB, \(shape.hashes) hashes), "
            + "cleared \(cleared.dynamicKeys.count + cleared.profiles.count) feature-state keys (\(elapsedText(clock.now - started)))")
        if blocklist.shape != blocklist.requestedShape {
            printLine("note        kept the existing blocklist filter (capacity \(shape.capacity), \(shape.counters) counters): re-sizing it "
                + "would lose the entries operators added, which a counting Bloom filter cannot list")
        }

        let replayStart = clock.now
        // The promoted feature set's state is rebuilt by the same replay (its keys went with the rest of the state).
        let featureSet = try await FeatureSetStore(namespace: namespace).load(on: redis)
        let extractor = FeatureExtractor(settings: settings, blocklistShape: shape, features: featureSet.set, featureSetVersion: featureSet.version)
        let rows = try await store.replay(
            synthetic.history, extractor: extractor, batchSize: 1_000, on: redis,
            progress: ReplayProgress.printer(total: synthetic.history.count))
        let replaySeconds = (clock.now - replayStart).seconds
        printLine("replay      \(rows.count) transactions through the serving feature path in event-time order: "
            + "\(Int(Double(rows.count) / max(replaySeconds, 1e-9))) per second"
            + (featureSet.version == 0 ? "" : ", with feature set v\(featureSet.version) (\(featureSet.set.definitions.count) features)")
            + " (\(elapsedText(clock.now - started)))")

        if let exportCSV {
            try TrainingMatrixCSV.write(rows: rows, history: synthetic.history, names: extractor.names, to: URL(fileURLWithPath: exportCSV))
            printLine("export      \(exportCSV)")
        }

        // The model trains on the built-in features; a feature set's serve rules, explanations and exports.
        var history = TrainingHistory(transactions: synthetic.history, rows: featureSet.version == 0 ? rows : rows.map { Array($0.prefix(FeatureSchema.count)) })
        if retrain {
            // Named as the worker names them on this Redis (a cluster's streams carry their partition tag).
            let streams = await SettingsResolver.command(connection.flags, self.namespace.flags, [Settings.partitions: partitions.map(String.init)])
                .streams(on: redis)
            if fromArchive {
                let settings = SettingsResolver.command(postgres.flags)
                try await ModelTrainingSteps.addArchivedLabelledReviews(to: &history, postgres: try postgres.resolved(settings), title: "retrain")
            } else {
                try await ModelTrainingSteps.addLabelledReviews(to: &history, streams: streams, title: "retrain", on: redis)
            }
        }
        _ = try await ModelTrainingSteps.trainAndStore(
            history, options: training, threshold: threshold, trainingData: world.describe(synthetic), promote: !noPromote,
            namespace: namespace, started: started, on: redis)
    }

    /// What loading the world's blocklist did, e.g. `12 added, 3 of an earlier world removed; operators' entries kept`.
    static func describe(_ load: FeatureStore.WorldBlocklistLoad) -> String {
        var parts = [load.created ? "new filter, \(load.added) added" : "\(load.added) added"]
        if load.removed > 0 { parts.append("\(load.removed) of an earlier world removed") }
        if load.replacedOldLayout { parts.append("the old-layout bitmap replaced") }
        return parts.joined(separator: ", ") + (load.created ? "" : "; operators' entries kept")
    }
}

/// "12.3 s".
func elapsedText(_ duration: Duration) -> String {
    String(format: "%.1f s", duration.seconds)
}
